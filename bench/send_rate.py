"""How close `Sender.send_due` comes to the Message API limit, without causing a single 429.

For each setting (10, 50 and 200 requests/s by default) a stand-in is started in its own process whose
Message API limit is that setting (`--message-rate`, `--message-burst`, `--message-in-flight`) and that
answers every request in about 20 ms (`--slow-share 1 --slow-seconds 0.02`); one stand-in per setting,
so its counters are the setting's alone. Then, in this process:

- rate × `--seconds` orders (at least 100), made from the contract's example under new order numbers,
  are enqueued in one transaction into a fresh SQLite outbox in a temp dir; nothing is pre-built;
- `Sender(...).send_due(limit=N)` builds and sends them through a `Throttle(rate, burst, in_flight)` of
  the same limits (the client's max in flight, 2 / 4 / 8, high enough that the rate binds, not the
  latency; the stand-in's in-flight cap the same); it is called again only if something is left (after
  a 429 or a 5xx), until the outbox is drained or the time cap is reached (then nothing more is sent);
- achieved = (delivered - free) / seconds from the first send (its token granted) to the last answer,
  where free = the tokens the throttle had saved at that first grant, less one (its bucket starts empty
  but fills while the orders are built): the requests a saved-up bucket lets through at once cost no
  time, so they are not counted;
- 429s are the stand-in's own count (`GET /admin/companies/{code}/counters`, responses.message["429"]):
  with the server's limit equal to the client's, each one is an overshoot by the client.

A second table shows where the time went: building before the first send, the window, the time the
whole tenant was held off by Retry-After, the throttle's waits, the latencies the client saw, and the
outbox's calls (count and seconds) in the sender's main thread.

    .venv/bin/python bench/send_rate.py [--rates 10,50,200] [--seconds 10] [--burst 1]
        [--client-burst B] [--server-burst B] [--client-rate-share 1.0] [--archive]

`--archive` keeps every attempt in a folder archive (`sonet_pipeline/archive/`) in the temp dir, as a
send run does: its writes happen in the sending threads, around each request.

A burst is a number or `Nx` (N × the rate: `2x` is the contract's default shape, 10/s with burst 20).
`--client-burst` / `--server-burst` / `--client-rate-share` exist because a client whose bucket equals
the server's has no room for the jitter between its grant and the server's arrival: compare
`--burst 1` with `--client-burst 2 --server-burst 2x`.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import math
import os
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _standin import RunningStandin, print_table, start_standin

from sonet_pipeline.archive import Archive, TenantArchive
from sonet_pipeline.common.blobs import FolderBlobs
from sonet_pipeline.common.clock import SystemClock
from sonet_pipeline.contract import read_text
from sonet_pipeline.outbound.send_report import SendReport
from sonet_pipeline.outbound.sender import Sender
from sonet_pipeline.outbox import open_outbox
from sonet_pipeline.outbox.store import Outbox
from sonet_pipeline.sonet.message import UNKNOWN, SendOutcome, SonetMessageClient
from sonet_pipeline.sonet.throttle import Throttle

COMPANY = "01"
TOKEN = "bench-send-token"
TENANT = "bench"
TARGET_SHARE = 0.95
LATENCY_SECONDS = 0.02
#: requests/s -> the client's (and the stand-in's) max in flight: 20 ms answers need rate × 0.02 in
#: flight; these leave at least twice that.
IN_FLIGHT = {10: 2, 50: 4, 200: 8}
EXAMPLE = json.loads(read_text("examples/commerce-order-b2b.json"))
PAST_CAP = "bench: not sent, past the time cap"


def in_flight_for(rate: float) -> int:
    return IN_FLIGHT.get(int(rate), max(2, int(rate * LATENCY_SECONDS * 2) + 1))


def burst_for(spec: str, rate: float) -> int:
    """`"20"` -> 20; `"2x"` -> 2 × rate."""
    if spec.endswith("x"):
        return max(1, round(float(spec[:-1]) * rate))
    return int(spec)


def orders(rate: float, count: int) -> list[dict[str, Any]]:
    """The contract's example web order under `count` new order numbers."""
    made = []
    for n in range(count):
        order = copy.deepcopy(EXAMPLE)
        order["orderNumber"] = f"WEB-R{int(rate)}-{n:06d}"
        made.append(order)
    return made


class TimedThrottle(Throttle):
    """The project's `Throttle`, noting when each slot (an in-flight place and a token) was granted,
    how long callers waited for it, and every Retry-After hold-off."""

    def __init__(self, rate: float, burst: int, in_flight: int) -> None:
        super().__init__(rate, burst, in_flight)
        self.granted: list[float] = []
        self.saved_at_first = 0.0  # the bucket's tokens when the first slot was granted
        self.wait_seconds = 0.0
        self.holds: list[tuple[float, float]] = []  # (start, end) on perf_counter
        self.local = threading.local()
        self._note = threading.Lock()

    @contextmanager
    def slot(self) -> Iterator[None]:
        asked = time.perf_counter()
        with super().slot():
            now = time.perf_counter()
            self.local.granted = now
            with self._note:
                if not self.granted:
                    self.saved_at_first = self._bucket.level()
                self.granted.append(now)
                self.wait_seconds += now - asked
            yield

    def hold_off(self, seconds: float) -> None:
        now = time.perf_counter()
        with self._note:
            self.holds.append((now, now + seconds))
        super().hold_off(seconds)

    def held_seconds(self, until: float) -> float:
        """Seconds before `until` covered by at least one hold-off (overlapping holds counted once)."""
        total, end = 0.0, float("-inf")
        for start, stop in sorted((start, min(stop, until)) for start, stop in self.holds if start < until):
            if stop > end:
                total += stop - max(start, end)
                end = stop
        return total


class TimedClient(SonetMessageClient):
    """The project's client, noting when each answer came back, how long after its grant, and what
    the 429s and 5xx said. Past `cap_seconds` after the first grant it sends nothing more (the message
    stays `sending`, as after a lost answer), so that a run of 429s cannot hold the bench for ever."""

    throttle: TimedThrottle

    def __init__(self, cap_seconds: float, **options: Any) -> None:
        super().__init__(**options)
        self.cap_seconds = cap_seconds
        self.answered: list[float] = []
        self.latencies: list[float] = []
        self.refusals: Counter[str] = Counter()
        self.unsent = 0
        self._note = threading.Lock()

    @property
    def past_cap(self) -> bool:
        granted = self.throttle.granted
        return bool(granted) and time.perf_counter() - granted[0] > self.cap_seconds

    def send(self, xml: bytes) -> SendOutcome:
        if self.past_cap:
            with self._note:
                self.unsent += 1
            return SendOutcome(UNKNOWN, message=PAST_CAP)
        outcome = super().send(xml)
        now = time.perf_counter()
        with self._note:
            self.answered.append(now)
            self.latencies.append(now - self.throttle.local.granted)
            if outcome.status is not None and (outcome.status == 429 or outcome.status >= 500):
                self.refusals[f"{outcome.status} {outcome.message.split(';')[0]}"] += 1
        return outcome


class TimedOutbox:
    """The outbox, with the calls and seconds of each method the sender uses (in the sender's main
    thread: claim, then record_built_many for each claimed batch; mark_sent and the others while
    settling; renew_claims in its heartbeat thread)."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        self.seconds: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._outbox, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started
                self.calls[name] += 1

        return timed


@dataclass
class Setting:
    rate: float  # the limit: the stand-in's rate
    client_rate: float
    client_burst: int
    server_burst: int
    in_flight: int
    orders: int
    cap_seconds: float
    archive: bool = False  # every attempt kept in a folder archive, as the send asset does


@dataclass
class Result:
    setting: Setting
    delivered: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    left: int = 0
    unsent: int = 0
    send_due_calls: int = 0
    window_seconds: float = 0.0
    build_seconds: float = 0.0  # send_due's start -> the first grant (claim, build, record_built_many)
    tail_seconds: float = 0.0  # the last answer -> send_due's end (settling what was not settled yet)
    held_seconds: float = 0.0
    cpu_seconds: float = 0.0
    server_429: int = 0
    reported_429: int = 0
    server_statuses: dict[str, int] = field(default_factory=dict)
    refusals: Counter[str] = field(default_factory=Counter)
    token_wait_mean_ms: float = 0.0
    gap_max_ms: float = 0.0
    latency_ms: tuple[float, float, float] = (0.0, 0.0, 0.0)
    outbox: dict[str, tuple[int, float]] = field(default_factory=dict)
    free_at_start: int = 0  # tokens saved at the first grant, less one: requests that cost no time

    @property
    def achieved(self) -> float:
        counted = self.delivered - self.free_at_start
        return max(0, counted) / self.window_seconds if self.window_seconds > 0 else 0.0

    @property
    def share(self) -> float:
        return self.achieved / self.setting.rate

    @property
    def met(self) -> bool:
        return self.share >= TARGET_SHARE and self.server_429 == 0 and self.left == 0 and not self.failed


def measure(setting: Setting) -> Result:
    result = Result(setting)
    limits = [
        *("--message-rate", f"{setting.rate:g}", "--message-burst", str(setting.server_burst)),
        *("--message-in-flight", str(setting.in_flight)),
    ]
    faults = ["--slow-share", "1", "--slow-seconds", f"{LATENCY_SECONDS:g}"]
    sonet = start_standin({COMPANY: TOKEN}, items=200, extra=[*limits, *faults])
    try:
        with tempfile.TemporaryDirectory(prefix="bench-send-") as work:
            outbox = open_outbox(Path(work) / "outbox.sqlite")
            try:
                archive = Archive(FolderBlobs(Path(work) / "archive", remove_empty_folders=True))
                run(sonet, outbox, result, archive.for_tenant(TENANT) if setting.archive else None)
            finally:
                outbox.close()
        counters = sonet.admin("GET", f"/companies/{COMPANY}/counters")
    finally:
        sonet.stop()
    result.server_statuses = counters["responses"].get("message", {})
    result.server_429 = result.server_statuses.get("429", 0)
    return result


def run(sonet: RunningStandin, outbox: Outbox, result: Result, archive: TenantArchive | None) -> None:
    setting, clock = result.setting, SystemClock()
    outbox.enqueue_many(TENANT, orders(setting.rate, setting.orders), actor="bench", now=clock.now())
    throttle = TimedThrottle(setting.client_rate, setting.client_burst, setting.in_flight)
    timed_outbox = TimedOutbox(outbox)
    with TimedClient(
        setting.cap_seconds,
        tenant=TENANT,
        base_url=sonet.base_url,
        company=COMPANY,
        token=TOKEN,
        throttle=throttle,
        timeout_seconds=30,
    ) as client:
        sender = Sender(
            tenant=TENANT,
            outbox=timed_outbox,  # type: ignore[arg-type]  # the outbox, timed
            client=client,
            variant_attributes=lambda sku: None,  # as if no item had variant attributes of its own
            clock=clock,
            owner="bench-send",
            retry_window=timedelta(hours=24),
            in_flight=setting.in_flight,
            rate=setting.client_rate,
            archive=archive,
        )
        reports: list[SendReport] = []
        started = time.perf_counter()
        cpu = time.process_time()
        left = setting.orders
        while left > 0 and not client.past_cap:
            report = sender.send_due(limit=setting.orders)
            reports.append(report)
            left -= report.delivered + sum(report.failed.values())
            if left > 0 and report.claimed < left:
                time.sleep(0.05)  # the rest is not due yet (a 429's Retry-After, the backoff)
        result.cpu_seconds = time.process_time() - cpu
        ended = time.perf_counter()
    result.left, result.unsent, result.refusals = left, client.unsent, client.refusals
    result.send_due_calls = len(reports)
    result.delivered = sum(r.delivered for r in reports)
    for report in reports:
        result.failed.update(report.failed)
    result.reported_429 = sum(r.throttled_429 for r in reports)
    result.outbox = {name: (timed_outbox.calls[name], s) for name, s in timed_outbox.seconds.items()}
    if throttle.granted and client.answered:
        granted = sorted(throttle.granted)
        first, last = granted[0], max(client.answered)
        result.window_seconds = last - first
        result.free_at_start = max(0, math.floor(throttle.saved_at_first) - 1)
        result.held_seconds = throttle.held_seconds(until=last)
        result.build_seconds = first - started
        result.tail_seconds = ended - last
        result.gap_max_ms = max((b - a for a, b in itertools.pairwise(granted)), default=0.0) * 1000
        result.token_wait_mean_ms = throttle.wait_seconds / len(granted) * 1000
        latencies = sorted(client.latencies)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        result.latency_ms = (statistics.median(latencies) * 1000, p99 * 1000, latencies[-1] * 1000)


def print_results(results: list[Result]) -> None:
    header = [
        "limit/s",
        "client rate/s",
        "burst client/server",
        "in flight",
        "orders",
        "delivered",
        "window s",
        "achieved/s",
        "achieved/limit",
        "target",
        "429s (stand-in)",
        "target",
        "met",
    ]
    rows = []
    for r in results:
        s = r.setting
        rows.append(
            [
                f"{s.rate:g}",
                f"{s.client_rate:g}",
                f"{s.client_burst}/{s.server_burst}",
                s.in_flight,
                s.orders,
                r.delivered,
                f"{r.window_seconds:.2f}",
                f"{r.achieved:.2f}",
                f"{r.share:.3f}",
                f">= {TARGET_SHARE:.2f}",
                r.server_429,
                "0",
                "yes" if r.met else "NO",
            ]
        )
    print_table(header, rows)
    print()
    print("Where the time went (s unless marked; outbox: calls (seconds), all in the sender's main thread):")
    header = [
        "limit/s",
        "send_due calls",
        "build before 1st send",
        "window",
        "held off (Retry-After)",
        "token wait mean ms",
        "largest gap ms",
        "latency p50/p99/max ms",
        "settle after last answer",
        "client CPU",
        "claim",
        "record_built_many",
        "mark_sent",
        "mark_retry",
    ]
    rows = []
    for r in results:
        calls = [
            f"{r.outbox.get(n, (0, 0.0))[0]} ({r.outbox.get(n, (0, 0.0))[1]:.2f})"
            for n in ("claim", "record_built_many", "mark_sent", "mark_retry")
        ]
        rows.append(
            [
                f"{r.setting.rate:g}",
                r.send_due_calls,
                f"{r.build_seconds:.2f}",
                f"{r.window_seconds:.2f}",
                f"{r.held_seconds:.2f}",
                f"{r.token_wait_mean_ms:.1f}",
                f"{r.gap_max_ms:.1f}",
                "/".join(f"{x:.1f}" for x in r.latency_ms),
                f"{r.tail_seconds:.3f}",
                f"{r.cpu_seconds:.2f}",
                *calls,
            ]
        )
    print_table(header, rows)
    for r in results:
        others = {k: v for k, v in r.server_statuses.items() if k != "201"}
        if others or r.failed or r.left or r.reported_429 != r.server_429:
            print(
                f"  {r.setting.rate:g}/s: stand-in answers {r.server_statuses}; failed {dict(r.failed)}; "
                f"left {r.left} (not sent, past the {r.setting.cap_seconds:.0f} s cap: {r.unsent}); "
                f"429s the sender counted {r.reported_429}; they said {dict(r.refusals)}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="10,50,200", help="limits in requests/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="orders = rate × this (at least 100)")
    parser.add_argument(
        "--burst", default="2x", help="Sonet's token bucket size: N or Nx (N × rate; the contract's shape)"
    )
    parser.add_argument("--client-burst", help="the client's token bucket size (default: Sonet's, --server-burst)")
    parser.add_argument("--server-burst", help="the stand-in's token bucket size (default: --burst)")
    parser.add_argument("--client-rate-share", type=float, default=1.0, help="the client's rate / the limit")
    parser.add_argument("--cap", type=float, help="stop sending after this many seconds (default: 3 × expected)")
    parser.add_argument("--archive", action="store_true", help="keep every attempt in a folder archive, as a send run")
    args = parser.parse_args()
    settings = []
    for text in args.rates.split(","):
        rate = float(text)
        count = max(100, int(rate * args.seconds))
        settings.append(
            Setting(
                rate=rate,
                client_rate=rate * args.client_rate_share,
                client_burst=burst_for(args.client_burst or args.server_burst or args.burst, rate),
                server_burst=burst_for(args.server_burst or args.burst, rate),
                in_flight=in_flight_for(rate),
                orders=count,
                cap_seconds=args.cap or max(30.0, 3 * count / rate),
                archive=args.archive,
            )
        )
    results = [measure(setting) for setting in settings]
    discounted = [r.free_at_start for r in results]
    discount = f"the tokens saved at the first grant, less one ({discounted}), not counted"
    print(
        f"Message API send rate vs the limit: the stand-in (own process) answers in ~{LATENCY_SECONDS * 1000:.0f} ms,"
    )
    print(f"its limit is the setting; burst discount: {discount}")
    print_results(results)
    print(f"(cores: {os.cpu_count()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")


if __name__ == "__main__":
    main()
