"""What a partner extension costs: a no-op of each kind at the send step's points and the shop step's.

The send step applies `web_order` and `sales_order`, the shop step `synced_record`, `rights` and
`catalogue_line`: one call per point and run, with every record (`extensions/chains.py`). Each is timed
inside a Dagster step (an in-process materialization; the `pipes` kind bound to it as the real steps
do), the step's points applied to N records each, without extensions and with a no-op of the kind at
every point (`acme_noop`, at `rights` `acme_no_restriction`; the Pipes ones: `pipes/noop.py`,
`pipes/no_restriction.py` of examples/partner-extensions). Overhead = with minus without; per record
the slope between `--small` and `--large` records a point, per run what is left at zero records (the
best of `--repeat`). Only the extension path is timed, not Sonet, the store or the files.

Lambda is not measured: stubbed, it answers in microseconds, so a figure would say nothing of a real
invocation (the network, the function's start, its own run time).

    nice -n 19 .venv/bin/python bench/extensions.py [--small 10] [--large 400] [--repeat 3]
"""

# No `from __future__ import annotations`: Dagster reads the annotations of the decorated functions.

import argparse
import copy
import json
import sys
import time
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, MaterializeResult, asset, materialize

from sonet_pipeline.contract import read_text
from sonet_pipeline.extensions.chains import TenantChains
from sonet_pipeline.extensions.extension import PIPES, PYTHON, ExtensionSpec
from sonet_pipeline.extensions.points import CATALOGUE_LINE, RIGHTS, SALES_ORDER, SYNCED_RECORD, WEB_ORDER
from sonet_pipeline.resources.extension_pipes import PipesExtensionsResource

SCRIPTS = Path(__file__).resolve().parent.parent / "examples" / "partner-extensions" / "pipes"
STEPS = {"send": (WEB_ORDER, SALES_ORDER), "shop": (SYNCED_RECORD, RIGHTS, CATALOGUE_LINE)}
KINDS = ("python", "pipes-subprocess")


def records(point: str, count: int) -> list[dict[str, Any]]:
    """`count` records such as the point's payload carries."""
    order = json.loads(read_text("examples/commerce-order-b2b.json"))
    xml = read_text("examples/sales-order-b2b.xml")
    made: list[dict[str, Any]] = []
    for n in range(count):
        if point == WEB_ORDER:
            made.append({**copy.deepcopy(order), "orderNumber": f"WEB-{n}"})
        elif point == SALES_ORDER:
            made.append({"message_id": f"m-{n}", "order_number": f"WEB-{n}", "xml": xml})
        elif point == SYNCED_RECORD:
            made.append({"entity": "items", "record": {"code": f"I{n}", "name": f"Item {n} (web)", "price": "9.90"}})
        elif point == RIGHTS:
            made.append(
                {
                    "login": f"l{n}@acme.example",
                    "accountId": f"C{n}",
                    "accountName": f"Customer {n}",
                    "segments": ["B2B"],
                    "customerTypes": ["COMPANY"],
                    "role": "BUYER",
                    "orderBlocked": False,
                }
            )
        else:
            made.append({"sku": f"I{n}", "name": f"Item {n} blue", "price": "9.90"})
    return made


def noop(kind: str, point: str) -> ExtensionSpec:
    if kind == "python":
        name = "acme_no_restriction" if point == RIGHTS else "acme_noop"
        return ExtensionSpec("acme", point, name, PYTHON, 60)
    script = SCRIPTS / ("no_restriction.py" if point == RIGHTS else "noop.py")
    return ExtensionSpec("acme", point, f"noop_{point}", PIPES, 60, {"command": [sys.executable, str(script)]})


def step_seconds(points: tuple[str, ...], kind: str | None, count: int) -> float:
    """Seconds to apply `points` to `count` records each in one Dagster step (`kind` None: no extension)."""
    specs = [noop(kind, point) for point in points] if kind else []
    batches = {point: records(point, count) for point in points}
    took: list[float] = []

    @asset
    def step(context: AssetExecutionContext, extension_pipes: PipesExtensionsResource) -> MaterializeResult:
        chains = TenantChains("acme", specs)
        with extension_pipes.bound(context):
            started = time.perf_counter()
            for point, batch in batches.items():
                outcomes = chains.apply(point, batch)
                failed = [o for o in outcomes if not isinstance(o, dict)]
                assert not failed, failed[:1]
            took.append(time.perf_counter() - started)
        return MaterializeResult()

    assert materialize([step], resources={"extension_pipes": PipesExtensionsResource()}).success
    return took[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"records a point: {args.small} and {args.large}; best of {args.repeat}")
    print(f"{'step':6} {'kind':18} {'calls/run':>9} {'per run ms':>11} {'per record µs':>14}")
    for step, points in STEPS.items():
        best: dict[tuple[str | None, int], float] = {}
        for kind in (None, *KINDS):
            for count in (args.small, args.large):
                best[kind, count] = min(step_seconds(points, kind, count) for _ in range(args.repeat))
        for kind in KINDS:
            small = best[kind, args.small] - best[None, args.small]
            large = best[kind, args.large] - best[None, args.large]
            per_record = (large - small) / ((args.large - args.small) * len(points))
            per_run = small - per_record * args.small * len(points)
            print(f"{step:6} {kind:18} {len(points):>9} {per_run * 1000:>11.1f} {per_record * 1e6:>14.1f}")
    print("lambda (stubbed): not measured; a stub says nothing of a real invocation's network and start")


if __name__ == "__main__":
    main()
