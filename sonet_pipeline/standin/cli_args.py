"""The `sonet-pipeline standin` command: its flags, and running the stand-in from them.

Every company gets its own token and its own data (seed + its index). Tokens are never printed.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sonet_pipeline.common.cli_types import instant
from sonet_pipeline.common.clock import Clock, ManualClock, SystemClock
from sonet_pipeline.standin.runtime import (
    DEFAULT_MESSAGE_LIMITS,
    DEFAULT_QUERY_LIMITS,
    ApiLimits,
    CompanyConfig,
    Faults,
    StandinConfig,
)

_N = TypeVar("_N", int, float)

DEMO_COMPANIES = (("01", "demo-token-acme"), ("02", "demo-token-nordic"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    add("--port", type=_port, default=8765, help="port to listen on (default: %(default)s)")
    add(
        "--company",
        action=_CompanyAction,
        type=_company,
        metavar="CODE=TOKEN",
        dest="companies",
        help="a company and its API token; repeatable (default: 01 and 02 with demo tokens)",
    )
    add("--seed", type=int, default=1, help="seed of the generated data; company n uses seed + n")
    add("--items", type=_non_negative_int, default=2000, help="items per company (default: %(default)s)")
    add("--customers", type=_non_negative_int, default=None, help="customers per company (default: by the seed data)")
    for api, limits in (("query", DEFAULT_QUERY_LIMITS), ("message", DEFAULT_MESSAGE_LIMITS)):
        add(f"--{api}-rate", type=_positive_float, default=limits.rate, help=f"{api} requests/s per company")
        add(f"--{api}-burst", type=_positive_int, default=limits.burst, help=f"{api} token bucket size")
        add(f"--{api}-in-flight", type=_positive_int, default=limits.in_flight, help=f"{api} requests in flight")
    add("--unthrottled", action="store_true", help="no token buckets and no in-flight caps")
    add("--lag-seconds", type=_non_negative_float, default=90.0, help="longest visibility lag (default: 90)")
    add("--late-share", type=_share, default=0.0, help="share of changes that become visible late (0..1)")
    add("--changes-per-minute", type=_non_negative_int, default=0, help="simulated ERP changes per minute")
    add("--unavailable-share", type=_share, default=0.0, help="share of requests answered 503 (0..1)")
    add("--lost-answer-share", type=_share, default=0.0, help="share of messages processed but never answered")
    add("--slow-share", type=_share, default=0.0, help="share of requests answered slowly (0..1)")
    add("--slow-seconds", type=_non_negative_float, default=0.0, help="how slow a slow answer is")
    add("--maintenance-at", type=instant, default=None, metavar="ISO", help="start of a maintenance window")
    add("--maintenance-seconds", type=_positive_float, default=600.0, help="length of that window (default: 600)")
    add("--state-file", default=None, help="journal of changes and orders, replayed at start (survives restarts)")
    add(
        "--manual-clock",
        nargs="?",
        const="",
        type=_optional_instant,
        default=None,
        metavar="ISO",
        help="time stands still until moved through /admin/clock (optionally from ISO)",
    )
    add("--mixed-offsets", action="store_true", help="answer some DateTimes with +02:00 instead of Z")
    add("--no-admin", action="store_true", help="turn the /admin endpoints off")


def config_from_args(args: argparse.Namespace) -> StandinConfig:
    companies = args.companies or list(DEMO_COMPANIES)
    maintenance = []
    if args.maintenance_at is not None:
        maintenance.append((args.maintenance_at, args.maintenance_at + timedelta(seconds=args.maintenance_seconds)))
    return StandinConfig(
        companies=[
            CompanyConfig(code, token, seed=args.seed + index, items=args.items, customers=args.customers)
            for index, (code, token) in enumerate(companies)
        ],
        query_limits=None if args.unthrottled else ApiLimits(args.query_rate, args.query_burst, args.query_in_flight),
        message_limits=None
        if args.unthrottled
        else ApiLimits(args.message_rate, args.message_burst, args.message_in_flight),
        lag_seconds=args.lag_seconds,
        late_share=args.late_share,
        faults=Faults(
            unavailable_share=args.unavailable_share,
            lost_answer_share=args.lost_answer_share,
            slow_share=args.slow_share,
            slow_seconds=args.slow_seconds,
            maintenance=maintenance,
        ),
        changes_per_minute=args.changes_per_minute,
        state_file=args.state_file,
        admin=not args.no_admin,
        mixed_offsets=args.mixed_offsets,
    )


def clock_from_args(args: argparse.Namespace) -> Clock:
    if args.manual_clock is None:
        return SystemClock()
    return ManualClock(args.manual_clock or None)


def run(args: argparse.Namespace) -> int:
    from sonet_pipeline.standin.boot import build_standin
    from sonet_pipeline.standin.server import serve

    config = config_from_args(args)
    standin = build_standin(config, clock_from_args(args))
    codes = ", ".join(standin.companies)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"Sonet stand-in for companies {codes} on http://{host}:{args.port}", flush=True)
    serve(standin, args.host, args.port)
    return 0


# --- flag types: each error names its flag through argparse ---------------------------------------


class _CompanyAction(argparse.Action):
    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, value: Any, option: str | None = None
    ) -> None:
        companies = list(getattr(namespace, self.dest) or [])
        if value[0] in {code for code, _ in companies}:
            raise argparse.ArgumentError(self, f"company {value[0]!r} is given twice")
        companies.append(value)
        setattr(namespace, self.dest, companies)


def _company(text: str) -> tuple[str, str]:
    code, sep, token = text.partition("=")
    if not sep or not code.strip() or not token.strip():
        raise argparse.ArgumentTypeError("expected CODE=TOKEN, e.g. 01=my-secret-token")
    return code.strip(), token.strip()


def _number(
    cast: Callable[[str], _N], text: str, *, minimum: float, exclusive: bool = False, maximum: float | None = None
) -> _N:
    try:
        value = cast(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    if value < minimum or (exclusive and value == minimum) or (maximum is not None and value > maximum):
        bound = (f"> {minimum}" if exclusive else f">= {minimum}") + ("" if maximum is None else f", <= {maximum}")
        raise argparse.ArgumentTypeError(f"{text} is out of range ({bound})")
    return value


def _port(text: str) -> int:
    return _number(int, text, minimum=1, maximum=65535)


def _non_negative_int(text: str) -> int:
    return _number(int, text, minimum=0)


def _positive_int(text: str) -> int:
    return _number(int, text, minimum=1)


def _positive_float(text: str) -> float:
    return _number(float, text, minimum=0, exclusive=True)


def _non_negative_float(text: str) -> float:
    return _number(float, text, minimum=0)


def _share(text: str) -> float:
    return _number(float, text, minimum=0, maximum=1)


def _optional_instant(text: str) -> datetime | str:
    return "" if text == "" else instant(text)
