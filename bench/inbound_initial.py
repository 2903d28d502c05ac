"""The initial sync of a large catalogue, as an operator runs it, beside the server's own ceiling.

Starts an unthrottled stand-in (100,000 items, and the seed's customers and segments) as a separate
process, a tenants file whose client limits do not throttle (rate 1000, burst 1000, in flight 4), and a
fresh data dir and DAGSTER_HOME. Then:

- the ceiling: a bare `requests` loop that only fetches every item page (`query_ceiling.plain_loop`),
  once before and once after the sync;
- the sync: `sonet-pipeline sync --tenant bench --json` as a subprocess, its wall time (Dagster start-up
  included), its CPU and peak RSS (`wait4`), and from the run's event log the time of the sync step
  and of its items phase (from "reading" to the items' materialization).

    .venv/bin/python bench/inbound_initial.py [--items 100000]
    .venv/bin/python bench/inbound_initial.py --profile out.prof   # the sync under cProfile (slower)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from _standin import (
    CLI,
    BenchTenant,
    bench_env,
    prepare_instance_in_subprocess,
    print_table,
    run_child,
    run_timings,
    running_standin,
    write_tenants,
)
from query_ceiling import plain_loop

TOKEN = "bench-token-initial"
COMPANY = "01"
TENANT = BenchTenant("bench", COMPANY, limits=(1000, 1000, 4))
ENTITIES = ("items", "customers", "segments")

TARGET_RATIO = 0.8
TARGET_SECONDS = 30.0
TARGET_RSS_MB = 400.0


def ceiling(base_url: str) -> float:
    started = time.perf_counter()
    records, _ = plain_loop(base_url, TOKEN, COMPANY)
    return records / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--profile", metavar="FILE", help="run the sync under cProfile, stats to FILE")
    parser.add_argument("--py-spy", metavar="FILE", help="sample the sync (all threads) with py-spy into FILE")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-initial-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        with running_standin({COMPANY: TOKEN}, items=args.items, unthrottled=True) as sonet:
            print(f"stand-in with {args.items:,} items up in {time.perf_counter() - started:.1f} s", flush=True)
            env = bench_env(work) | write_tenants(work / "tenants.yaml", sonet, [TENANT])
            started = time.perf_counter()
            prepare_instance_in_subprocess(env)
            instance_seconds = time.perf_counter() - started

            ceilings = [ceiling(sonet.base_url)]
            command = [str(CLI), "sync", "--tenant", TENANT.name, "--json"]
            if args.profile:
                profiler = [sys.executable, "-m", "cProfile", "-o", args.profile, "-m", "sonet_pipeline.cli"]
                command = [*profiler, *command[1:]]
            elif args.py_spy:
                py_spy = shutil.which("py-spy") or "py-spy"
                command = [py_spy, "record", "--threads", "--format", "raw", "-o", args.py_spy, "--", *command]
            launched = time.time()
            sync = run_child(command, env)
            ceilings.append(ceiling(sonet.base_url))
        if sync.returncode != 0:
            raise SystemExit(f"the sync failed ({sync.returncode}):\n{sync.stdout}\n{sync.stderr[-3000:]}")
        summary = json.loads([line for line in sync.stdout.splitlines() if line.startswith("{")][-1])
        figures = summary["tenants"][TENANT.name]
        timings = run_timings(env["DAGSTER_HOME"], summary["run_id"], TENANT.name)

    fetched = {name: int(figures[name]["fetched"]) for name in ENTITIES}
    items_seconds = timings.phases["items"]
    sync_rate = fetched["items"] / items_seconds
    ceiling_rate = statistics.median(ceilings)
    ratio = sync_rate / ceiling_rate
    wall = sync.wall_seconds
    start_up = timings.run_start - launched
    after_run = launched + wall - timings.run_end

    def verdict(ok: bool) -> str:
        return "yes" if ok else "NO"

    counts = f"{fetched['items']:,} items ({fetched['customers']:,} customers, {fetched['segments']:,} segments)"
    print(f"\ninitial sync of {counts}, unthrottled stand-in, 2 cores, load {load:.1f}, {datetime.now(UTC):%F}")
    rows = [
        (
            "ceiling: bare page loop, items/s (before, after)",
            f"{ceiling_rate:,.0f}",
            f"{ceilings[0]:,.0f}, {ceilings[1]:,.0f}",
            "",
            "",
        ),
        ("sync items phase, items/s", f"{sync_rate:,.0f}", f"{fetched['items']:,} in {items_seconds:.2f} s", "", ""),
        ("sync items/s / ceiling", f"{ratio:.2f}", "", f">= {TARGET_RATIO}", verdict(ratio >= TARGET_RATIO)),
        (
            "sync step (all 3 entities + checks + snapshot), s",
            f"{timings.step_seconds:.2f}",
            ", ".join(f"{n} {s:.2f}" for n, s in timings.phases.items()),
            "",
            "",
        ),
        ("run, RUN_START to RUN_SUCCESS, s", f"{timings.run_end - timings.run_start:.2f}", "", "", ""),
        (
            "`sonet-pipeline sync` wall, start-up included, s",
            f"{wall:.2f}",
            f"start-up {start_up:.2f}, exit {after_run:.2f}",
            f"< {TARGET_SECONDS:.0f}",
            verdict(wall < TARGET_SECONDS),
        ),
        ("  as items/s of the whole command", f"{fetched['items'] / wall:,.0f}", "", "", ""),
        (
            "peak RSS of the sync process, MB",
            f"{sync.peak_rss_mb:.0f}",
            "",
            f"< {TARGET_RSS_MB:.0f}",
            verdict(sync.peak_rss_mb < TARGET_RSS_MB),
        ),
        ("CPU of the sync process (user + sys), s", f"{sync.cpu_seconds:.2f}", "", "", ""),
        ("creating the instance's storage first (not in the sync), s", f"{instance_seconds:.2f}", "", "", ""),
    ]
    print_table(("what", "figure", "detail", "target", "met"), rows)
    if args.profile or args.py_spy:
        print(f"profile written to {args.profile or args.py_spy} (figures above are slowed by the profiler)")


if __name__ == "__main__":
    main()
