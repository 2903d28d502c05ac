"""`sonet-pipeline demo`: its flags, and which demo they run (thin).

Without `--once`: the servers, `dagster dev` and the simulated web shop until Ctrl-C (`cli/demo.py`).
With `--once`: one headless cycle, checked (`cli/demo_once.py`): exit 0 when every stage passed, 1 naming
the stage that failed, 2 for bad arguments. `--json` (with `--once`) prints one JSON document on stdout
and the stages' progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys

from sonet_pipeline.common.cli_types import non_negative_number, whole_number
from sonet_pipeline.config.tenants import load_tenants
from sonet_pipeline.webshop.pace import Pace

_PACE = Pace()  # the web shop's defaults

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEMO_ITEMS = 2000

DESCRIPTION = (
    "Start the Sonet stand-in (demo companies 01 and 02), the order intake, `dagster dev` with the demo tenants "
    "and a simulated web shop that posts orders built from each tenant's published files to the intake (now and "
    "then one meant to be refused: by Sonet, or at the intake's door), print where they are, and run until "
    "Ctrl-C. State lives under SONET_PIPELINE_DATA_DIR (default ./.data). --once instead runs one cycle "
    "headless (stand-in, sync, shop publish, web-shop orders in through the intake, send, order status "
    "published), checks it, prints a summary and exits 0 when every stage passed, 1 naming the stage that "
    "failed; it works in <data dir>/demo-once (emptied first) with the demo tenants, embedded, on free ports."
)


def add_demo_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo", help="run the Sonet stand-in, the intake, the Dagster UI and a web shop", description=DESCRIPTION
    )
    add = demo.add_argument
    add("--host", default="127.0.0.1", help="address they listen on (default: %(default)s)")
    add("--standin-port", type=int, default=8765, help="the stand-in's port (default: %(default)s)")
    add("--ui-port", type=int, default=3000, help="the Dagster UI's port (default: %(default)s)")
    add("--intake-port", type=int, default=8780, help="the order intake's port (default: %(default)s)")
    add("--items", type=whole_number, default=None, help=f"items per demo company (default: {DEMO_ITEMS}; --once: 200)")
    add("--changes-per-minute", type=int, default=30, help="simulated ERP activity (default: %(default)s)")
    shop = demo.add_argument_group("the simulated web shop")
    shop.add_argument("--no-shop", action="store_true", help="no web shop: orders only come from you")
    shop.add_argument(
        "--shop-orders-per-minute",
        type=non_negative_number,
        default=_PACE.orders_per_minute,
        metavar="N",
        help="orders it posts a minute, tenants in turn (default: %(default)s)",
    )
    shop.add_argument(
        "--shop-refuse-every",
        type=whole_number,
        default=_PACE.refuse_every,
        metavar="N",
        help="every N-th order is one meant to be refused, by Sonet (UNKNOWN_ITEM) and at the intake's door "
        "(NOT_ALLOWED) in turn; 0: never (default: %(default)s)",
    )
    shop.add_argument(
        "--shop-burst",
        type=whole_number,
        default=0,
        metavar="N",
        help="also post N orders in one batch request every --shop-burst-every seconds (default: none)",
    )
    shop.add_argument(
        "--shop-burst-every",
        type=non_negative_number,
        default=_PACE.burst_every_seconds,
        metavar="SECONDS",
        help="how often a burst comes (default: %(default)s)",
    )
    once = demo.add_argument_group("one checked cycle")
    once.add_argument("--once", action="store_true", help="run one headless cycle, check it, print a summary, exit")
    once.add_argument("--json", action="store_true", help="with --once: one JSON document on stdout")
    demo.set_defaults(handler=run_demo_command)


def run_demo_command(args: argparse.Namespace) -> int:
    if args.json and not args.once:
        print("sonet-pipeline demo: --json goes with --once", file=sys.stderr)
        return EXIT_USAGE
    if args.once:
        return _once(args)
    from sonet_pipeline.cli.demo import DemoError, DemoOptions, run_demo

    load_tenants()  # a broken tenants file fails here, before anything starts
    try:
        pace = None
        if not args.no_shop:
            pace = Pace(args.shop_orders_per_minute, args.shop_refuse_every, args.shop_burst, args.shop_burst_every)
        options = DemoOptions(
            host=args.host,
            standin_port=args.standin_port,
            ui_port=args.ui_port,
            intake_port=args.intake_port,
            items=DEMO_ITEMS if args.items is None else args.items,
            changes_per_minute=args.changes_per_minute,
            shop=pace,
        )
    except ValueError as exc:
        print(f"sonet-pipeline demo: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return run_demo(options)
    except DemoError as exc:
        print(f"sonet-pipeline demo: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _once(args: argparse.Namespace) -> int:
    from sonet_pipeline.cli.demo_once import DEFAULT_ITEMS, OnceOptions, run_once

    options = OnceOptions(host=args.host, items=DEFAULT_ITEMS if args.items is None else args.items)
    out = sys.stderr if args.json else sys.stdout

    def progress(line: str) -> None:
        print(line, file=out, flush=True)

    progress(f"sonet-pipeline demo --once: one cycle, {options.items} items a company")
    report = run_once(options, progress=progress)
    if args.json:
        print(json.dumps(report.as_json()))
    print(report.closing_line(), file=out, flush=True)
    return EXIT_OK if report.success else EXIT_FAILED
