"""The shop step with price lists at scale: 100,000 items, 10 lists, 300,000 lines; cold, then a bulk update.

Setup (timed apart, in a child process): the store and snapshot of `shop_model.py` (the seed company of
`generate_company(7, items=..., customers=...)`, 11 segments), plus `--lines` price list lines over
its items in `--lists` lists, upserted in batches of 5,000 (`dateModified` as the text Sonet sends),
and the snapshot published again. The lines, deterministic (`random.Random(SEED)`), look like a
merchant's: each list covers a share of the catalogue (from 40 % down to 8 %) at a discount from the
item's listPrice; now and then quantity breaks (10, 50, 100), an expired campaign, a campaign in
force that ends within the 7-day horizon, a price that starts within it, next year's price (beyond
it), a PASSIVE or DELETED line. Lines are made item by item (code order) until `--lines` are made.

Then, for the demo tenant `acme`, each in a fresh process that imports the shop's asset module (and
Dagster with it, as the real step's process does), its wall time, CPU and peak RSS (`wait4`):

- cold: every file computed into an empty folder without the catalogue's cache, with the time each
  file's build took (the step's `doing` callback);
- a bulk update of `--update` lines (new prices, one `dateModified`: Sonet's price update) upserted
  and the snapshot published (untimed: the sync's part); the files the step finds stale
  (`shop_inputs.stale_files`, as the shop sensor asks), and one step of those alone: which files it
  builds, and which it rewrites.

    .venv/bin/python bench/shop_prices.py [--items 100000] [--lists 10] [--lines 300000] [--update 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from _standin import print_table, run_child
from shop_model import BATCH, NOW, OUT, TENANT, build, cache_path

SEED = 11
TARGET_SECONDS = 30.0
TARGET_RSS_MB = 400.0
#: Each list's share of the catalogue (the first 10; a longer --lists repeats the last).
SHARES = (0.40, 0.30, 0.25, 0.20, 0.20, 0.15, 0.15, 0.12, 0.10, 0.08)
_CENT = Decimal("0.01")
DAY = timedelta(days=1)


def price_lines(items: list[tuple[str, Decimal | None]], lists: int, count: int) -> list[dict[str, Any]]:
    """`count` price list lines over `items` ((code, listPrice), code order) in `lists` lists."""
    rng = random.Random(SEED)
    codes = [f"PL-{n:02d}" for n in range(1, lists + 1)]
    shares = [SHARES[min(n, len(SHARES) - 1)] for n in range(lists)]
    lines: list[dict[str, Any]] = []

    def line(code: str, item: str, price: Decimal, quantity: str, start: Any = None, end: Any = None) -> None:
        r = rng.random()
        lines.append(
            {
                "lineId": f"PLL-{len(lines) + 1:07d}",
                "priceListCode": code,
                "itemCode": item,
                "price": str(max(price, _CENT).quantize(_CENT, ROUND_HALF_UP)),
                "currency": "EUR",
                "minQuantity": quantity,
                "validFrom": _text(start),
                "validTo": _text(end),
                "status": "DELETED" if r < 0.01 else "PASSIVE" if r < 0.03 else "ACTIVE",
                "dateModified": _text(NOW - timedelta(milliseconds=rng.randint(1, 365 * 86_400_000))),
            }
        )

    while len(lines) < count:  # once over the catalogue gives ~300,000 at 10 lists; again if short
        for item, list_price in items:
            base = list_price if list_price is not None else Decimal(rng.randint(5, 400)) + Decimal("0.90")
            for code, share in zip(codes, shares, strict=True):
                if rng.random() >= share:
                    continue
                off = rng.randint(3, 25)

                def at(percent: int) -> Decimal:
                    return base * (100 - min(percent, 90)) / 100  # noqa: B023 (used at once)

                line(code, item, at(off), "1")
                if rng.random() < 0.20:  # quantity breaks
                    for quantity, extra in (("10", 5), ("50", 9), ("100", 12))[: rng.choice((1, 1, 2, 3))]:
                        line(code, item, at(off + extra), quantity)
                if rng.random() < 0.05:  # a campaign that ended
                    start = NOW - rng.randint(60, 300) * DAY
                    line(code, item, at(off + 15), "1", start, start + 30 * DAY)
                if rng.random() < 0.03:  # a campaign in force, ending within the horizon
                    line(code, item, at(off + 10), "1", NOW - rng.randint(1, 20) * DAY, NOW + rng.randint(1, 6) * DAY)
                if rng.random() < 0.02:  # a new price from within the horizon
                    line(code, item, at(off - 2), "1", NOW + rng.randint(1, 6) * DAY)
                if rng.random() < 0.05:  # next year's price, beyond the horizon
                    line(code, item, at(off - 3), "1", NOW + rng.randint(30, 400) * DAY)
                if len(lines) >= count:
                    return lines
    return lines


def _text(value: datetime | None) -> str | None:
    from sonet_pipeline.store import format_instant

    return None if value is None else format_instant(value)


def setup(work: Path, items: int, customers: int, lists: int, count: int) -> dict[str, float]:
    """`shop_model`'s store and snapshot, with the price list lines (a child's part); its timings."""
    from sonet_pipeline.store import Snapshot, TenantStore, to_frame

    timings = build(work, items, customers)
    started = time.perf_counter()
    catalogue = sorted(
        (r["itemCode"], _decimal(r.get("listPrice"))) for r in Snapshot(work / "snapshot").records("items")
    )
    lines = price_lines(catalogue, lists, count)
    timings["lines_made_s"] = time.perf_counter() - started
    started = time.perf_counter()
    with TenantStore.open(work / "store.duckdb") as store:
        for start in range(0, len(lines), BATCH):
            batch = lines[start : start + BATCH]
            store.upsert(
                "price_list_lines",
                to_frame("price_list_lines", batch),
                run_id="bench",
                partition="bench",
                synced_at=NOW,
            )
        store.advance_high_water_mark("price_list_lines", NOW)
        store.record_success("price_list_lines", run_id="bench", at=NOW, full=True)
        timings["lines_store_s"] = time.perf_counter() - started
        started = time.perf_counter()
        store.publish_snapshot(work / "snapshot", at=NOW)
        timings["snapshot2_s"] = time.perf_counter() - started
    return timings


def _decimal(value: Any) -> Decimal | None:
    try:
        return None if value is None else Decimal(str(value))
    except ArithmeticError:
        return None


def bulk_update(work: Path, count: int) -> dict[str, Any]:
    """New prices for `count` lines drawn at random, one `dateModified` (a child's part, untimed)."""
    from sonet_pipeline.store import Snapshot, TenantStore, to_frame

    stamp = NOW + timedelta(minutes=1)
    records = list(Snapshot(work / "snapshot").records("price_list_lines"))
    chosen = random.Random(SEED + 1).sample(records, count)
    for record in chosen:
        price = Decimal(str(record["price"])) * Decimal("1.04")
        record.update(price=str(price.quantize(_CENT, ROUND_HALF_UP)), dateModified=_text(stamp))
        for name in ("validFrom", "validTo"):
            if isinstance(record[name], datetime):
                record[name] = _text(record[name])
    with TenantStore.open(work / "store.duckdb") as store:
        for start in range(0, len(chosen), BATCH):
            frame = to_frame("price_list_lines", chosen[start : start + BATCH])
            store.upsert("price_list_lines", frame, run_id="bench-update", partition="bench", synced_at=stamp)
        store.advance_high_water_mark("price_list_lines", stamp)
        store.record_success("price_list_lines", run_id="bench-update", at=stamp, full=False)
        store.publish_snapshot(work / "snapshot", at=stamp)
    return {"updated": len(chosen), "lists": len({r["priceListCode"] for r in chosen})}


def step(work: Path, cold: bool) -> dict[str, Any]:
    """One shop step in this fresh process (a child's part): every file when `cold` (empty folder, no
    catalogue cache), else the stale ones, as the asset's body runs it without Dagster's context."""
    from sonet_pipeline.assets.shop import _compute
    from sonet_pipeline.common.streaming import streaming_runtime
    from sonet_pipeline.config import settings
    from sonet_pipeline.config.tenants import load_tenants, tenant_by_name
    from sonet_pipeline.shop import inputs as shop_inputs
    from sonet_pipeline.shop.inputs import FILES, PRICES
    from sonet_pipeline.shop.publish import LocalFolder, publish, read_manifest
    from sonet_pipeline.store import Snapshot

    os.environ.pop(settings.TENANTS_ENV, None)  # the shipped demo tenants
    os.environ[settings.DATA_DIR_ENV] = str(work / "data")  # the catalogue's cache lives under it
    tenant = tenant_by_name(load_tenants(), TENANT)
    snapshot, folder = Snapshot(work / "snapshot"), work / "published"
    if cold:
        shutil.rmtree(folder, ignore_errors=True)
        cache_path(work).unlink(missing_ok=True)
    started = time.perf_counter()
    snapshot_manifest = snapshot.manifest()
    now_inputs = shop_inputs.current_inputs(tenant, snapshot_manifest, "bench-outbox-mark") or {}
    destination = LocalFolder(folder)
    published = read_manifest(destination)
    selected = list(FILES) if cold else shop_inputs.stale_files(now_inputs, published, NOW)
    parts: list[tuple[str, float]] = []
    peaks: dict[str, float] = {"imports": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}

    now_mb: dict[str, float] = {}

    def doing(_built: int, what: str) -> None:
        if parts:  # the peak RSS so far, and the RSS now, when the part before ends
            peaks[parts[-1][0]] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            now_mb[parts[-1][0]] = _rss_now_mb()
        parts.append((what.removeprefix("building "), time.perf_counter()))

    with streaming_runtime():
        files, results = _compute(tenant, snapshot, selected, [], doing=doing, now=NOW)
    parts.append(("publish", time.perf_counter()))
    marks = {e: d.get("high_water_mark") for e, d in (snapshot_manifest or {}).get("entities", {}).items()}
    next_changes = {file: result.next_change for file, result in results.items() if file == PRICES}
    source = shop_inputs.merged_source(published, now_inputs, selected, marks, next_changes)
    if len(parts) > 1:
        peaks[parts[-2][0]] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        now_mb[parts[-2][0]] = _rss_now_mb()
    manifest = publish(destination, files, tenant=TENANT, source=source, now=NOW)
    ended = time.perf_counter()
    peaks["publish"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    timed = {
        what: round((parts[i + 1][1] if i + 1 < len(parts) else ended) - at, 2) for i, (what, at) in enumerate(parts)
    }
    written = {entry["name"]: entry for entry in manifest["files"]}
    return {
        "wall_s": ended - started,
        "selected": selected,
        "parts_s": timed,
        "peak_mb_after": {part: round(mb) for part, mb in peaks.items()},
        "rss_mb_after": {part: round(mb) for part, mb in now_mb.items()},
        "changed": [
            name for name, entry in written.items() if entry["changed"] and name.removesuffix(".jsonl") in selected
        ],
        "records": {name: entry["records"] for name, entry in written.items()},
        "bytes": {name: entry["bytes"] for name, entry in written.items()},
        "sha256": {name: entry["sha256"] for name, entry in written.items()},
        "prices": {k: v.value for k, v in results[PRICES].metadata.items()} if PRICES in results else {},
        "groups_rebuilt": results["catalogue"].metadata["groups_rebuilt"].value if "catalogue" in results else None,
    }


def prices_alone(work: Path, way: str) -> dict[str, Any]:
    """`prices.jsonl` alone in this fresh process (a child's part), Dagster imported as in the step:
    `held` builds every line and record at once (`prices_file`, then `jsonl`), `streamed` as the step
    does (`streamed_prices_file` over the lines in list and item order, read a few lists at a time)."""
    import hashlib

    import sonet_pipeline.assets.shop  # noqa: F401 (the step's imports, Dagster with them)
    from sonet_pipeline.config.tenants import load_tenants, tenant_by_name
    from sonet_pipeline.shop.prices import LINE_ORDER, prices_file, streamed_prices_file
    from sonet_pipeline.shop.publish import jsonl
    from sonet_pipeline.store import Snapshot

    horizon = tenant_by_name(load_tenants(), TENANT).shop.price_horizon
    snapshot = Snapshot(work / "snapshot")
    started = time.perf_counter()
    if way == "held":
        held = prices_file(snapshot.records("price_list_lines"), NOW, horizon)
        data, next_change = jsonl(held.records), held.next_change_text
    else:
        lines = snapshot.records_in_parts("price_list_lines", LINE_ORDER[0], order=LINE_ORDER[1:])
        streamed = streamed_prices_file(lines, NOW, horizon)
        data, next_change = streamed.lines.data, streamed.next_change_text
    return {
        "wall_s": time.perf_counter() - started,
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "next_change": next_change,
    }


def _rss_now_mb() -> float:
    """The resident set now (Linux: /proc/self/statm), not the peak."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def in_child(mode: str, work: Path, *extra: str) -> tuple[dict[str, Any], Any]:
    """This script's `mode` part in a child process: what it printed (JSON), and its `run_child` figures."""
    child = run_child([sys.executable, __file__, mode, str(work), *extra], {})
    if child.returncode != 0:
        raise SystemExit(f"{mode} failed ({child.returncode}):\n{child.stderr[-3000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1]), child


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--lists", type=int, default=10)
    parser.add_argument("--lines", type=int, default=300_000)
    parser.add_argument("--update", type=int, default=5_000)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir with the store (its path is printed)")
    parser.add_argument("--store", metavar="DIR", help="reuse a store kept (--keep) by an earlier run")
    for part in ("--setup", "--cold", "--bulk", "--stale", "--held", "--streamed"):  # the children's parts
        parser.add_argument(part, metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.held or args.streamed:
        print(json.dumps(prices_alone(Path(args.held or args.streamed), "held" if args.held else "streamed")))
        return
    if args.setup:
        print(json.dumps(setup(Path(args.setup), args.items, args.customers, args.lists, args.lines)))
        return
    if args.bulk:
        print(json.dumps(bulk_update(Path(args.bulk), args.update)))
        return
    if args.cold or args.stale:
        print(json.dumps(step(Path(args.cold or args.stale), cold=bool(args.cold))))
        return
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(args.store) if args.store else Path(tempfile.mkdtemp(prefix="shop-prices-", dir=OUT))
    try:
        measure(args, work)
    finally:
        if args.keep or args.store:
            print(f"store and snapshot kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def measure(args: argparse.Namespace, work: Path) -> None:
    loads = [os.getloadavg()[0]]
    sizes = ["--items", str(args.items), "--customers", str(args.customers), "--lists", str(args.lists)]
    built, setup_run = ({}, None) if args.store else in_child("--setup", work, *sizes, "--lines", str(args.lines))
    loads.append(os.getloadavg()[0])
    cold, cold_run = in_child("--cold", work)
    loads.append(os.getloadavg()[0])
    bulk, _ = in_child("--bulk", work, "--update", str(args.update))
    after, after_run = in_child("--stale", work)
    loads.append(os.getloadavg()[0])
    again, again_run = in_child("--stale", work)  # nothing changed since: nothing to build
    held, held_run = in_child("--held", work)
    streamed, streamed_run = in_child("--streamed", work)
    loads.append(os.getloadavg()[0])

    def verdict(ok: bool) -> str:
        return "yes" if ok else "NO"

    prices = cold["prices"]
    print(
        f"\nshop step of tenant {TENANT}: {args.items:,} items, {args.customers:,} customers, "
        f"{args.lines:,} price list lines in {args.lists} lists; 2 cores, "
        f"load (1 min) {min(loads):.1f}..{max(loads):.1f} during the run, {datetime.now().astimezone():%F %H:%M %Z}"
    )
    print_table(
        ("what", "count", "detail"),
        [
            ("price list lines", f"{args.lines:,}", f"{prices.get('lines_active', 0):,} ACTIVE"),
            (
                "prices.jsonl records",
                f"{prices.get('items_priced', 0):,}",
                f"(list, item) pairs in {prices.get('price_lists', 0)} lists; "
                f"{prices.get('items_with_changes_ahead', 0):,} with a change within the horizon",
            ),
            (
                "published, MB",
                f"{sum(cold['bytes'].values()) / 1e6:.1f}",
                ", ".join(f"{n.removesuffix('.jsonl')} {b / 1e6:.1f}" for n, b in cold["bytes"].items() if b),
            ),
            ("bulk update", f"{bulk['updated']:,}", f"lines in {bulk['lists']} lists, one dateModified"),
        ],
    )
    print()

    def row(what: str, result: dict[str, Any], run: Any, target: bool) -> tuple[str, ...]:
        return (
            what,
            f"{run.wall_seconds:.1f}",
            f"{run.cpu_seconds:.1f}",
            f"{run.peak_rss_mb:.0f}",
            ", ".join(result["selected"]) or "none",
            ", ".join(n.removesuffix(".jsonl") for n in result["changed"]) or "none",
            verdict(run.wall_seconds < TARGET_SECONDS and run.peak_rss_mb < TARGET_RSS_MB) if target else "",
        )

    print_table(
        ("fresh process, Dagster imported", "wall s", "CPU s", "peak RSS MB", "built", "rewritten", "< 30 s, < 400 MB"),
        [
            row("cold: every file, empty folder, no cache", cold, cold_run, True),
            row(f"after the bulk update of {bulk['updated']:,} lines", after, after_run, True),
            row("again, nothing changed", again, again_run, False),
        ],
    )
    print()
    print("step parts, s (inside the process; wall of the process includes imports):")
    for what, result in (("cold", cold), ("after the bulk update", after)):
        print(
            f"  {what}: "
            + ", ".join(f"{part} {s:.2f}" for part, s in result["parts_s"].items())
            + f"; step {result['wall_s']:.2f}"
        )
        print("    peak RSS MB after: " + ", ".join(f"{part} {mb}" for part, mb in result["peak_mb_after"].items()))
        print("    RSS MB then:       " + ", ".join(f"{part} {mb}" for part, mb in result["rss_mb_after"].items()))
    print()
    print_table(
        ("prices.jsonl alone, fresh process, Dagster imported", "wall s", "CPU s", "peak RSS MB", "build s", "bytes"),
        [
            (
                what,
                f"{run.wall_seconds:.1f}",
                f"{run.cpu_seconds:.1f}",
                f"{run.peak_rss_mb:.0f}",
                f"{r['wall_s']:.2f}",
                f"{r['bytes']:,}",
            )
            for what, r, run in (
                ("held: every line and record at once (prices_file)", held, held_run),
                ("streamed: one (list, item) at a time, as the step", streamed, streamed_run),
            )
        ],
    )
    same = held["sha256"] == streamed["sha256"] == after["sha256"]["prices.jsonl"]
    same = same and held["next_change"] == streamed["next_change"]
    print(f"held and streamed bytes and next_change identical (and the step's): {same}")
    if setup_run is not None:
        print(
            f"setup (not in the step): {setup_run.wall_seconds:.0f} s, peak RSS {setup_run.peak_rss_mb:.0f} MB "
            f"(lines made {built['lines_made_s']:.1f} s, upserted {built['lines_store_s']:.1f} s, "
            f"snapshot {built['snapshot2_s']:.1f} s)"
        )
    same = [n for n in cold["sha256"] if n != "prices.jsonl" and cold["sha256"][n] == after["sha256"][n]]
    print(f"files byte-identical before and after the update: {', '.join(same)}")
    print(f"prices.jsonl sha256 after the update: {after['sha256']['prices.jsonl']}")


if __name__ == "__main__":
    main()
