"""The minute window: one `sonet-pipeline sync` run after 1,000 changes in Sonet, Dagster start-up included.

Starts a stand-in (20,000 items; Sonet's default limits: 5 requests/s, burst 10, 4 in flight, and the
tenant's client throttle the same) as a separate process, a fresh data dir and DAGSTER_HOME, and loads
the catalogue with one `sonet-pipeline sync`. Then, a few times: 1,000 random changes in Sonet
(`POST /admin/companies/01/random-changes`), and one `sonet-pipeline sync --tenant bench --json` as a
subprocess, timed from launch to exit.

    .venv/bin/python bench/inbound_minute.py [--items 20000] [--changes 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from _standin import (
    CLI,
    BenchTenant,
    ChildRun,
    RunningStandin,
    bench_env,
    prepare_instance_in_subprocess,
    print_table,
    run_child,
    run_timings,
    running_standin,
    write_tenants,
)

TOKEN = "bench-token-minute"
COMPANY = "01"
TENANT = BenchTenant("bench", COMPANY, limits=(5, 10, 4))
TARGET_SECONDS = 10.0


def sync(env: dict[str, str]) -> tuple[ChildRun, dict, float]:
    """Run `sonet-pipeline sync`; its outcome, its JSON summary, and when it was launched (epoch s)."""
    launched = time.time()
    run = run_child([str(CLI), "sync", "--tenant", TENANT.name, "--json"], env)
    if run.returncode != 0:
        raise SystemExit(f"the sync failed ({run.returncode}):\n{run.stdout}\n{run.stderr[-3000:]}")
    return run, json.loads([line for line in run.stdout.splitlines() if line.startswith("{")][-1]), launched


def changes(sonet: RunningStandin, count: int, seed: int) -> str:
    answer = sonet.admin("POST", f"/companies/{COMPANY}/random-changes", {"count": count, "seed": seed})
    return ", ".join(f"{kind} {n}" for kind, n in sorted(answer["kinds"].items(), key=lambda kv: -kv[1])[:4])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--changes", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    rows = []
    walls = []
    with tempfile.TemporaryDirectory(prefix="bench-minute-") as tmp:
        work = Path(tmp)
        with running_standin({COMPANY: TOKEN}, items=args.items) as sonet:
            env = bench_env(work) | write_tenants(work / "tenants.yaml", sonet, [TENANT])
            prepare_instance_in_subprocess(env)
            initial, summary, _ = sync(env)
            fetched = summary["tenants"][TENANT.name]["items"]["fetched"]
            rows.append(("initial load", f"{initial.wall_seconds:.2f}", "", "", f"{fetched:,} items", "", ""))
            for round_number in range(1, args.rounds + 1):
                kinds = changes(sonet, args.changes, seed=round_number)
                time.sleep(0.5)  # as if the minute's tick came a moment after the last change
                run, summary, launched = sync(env)
                timings = run_timings(env["DAGSTER_HOME"], summary["run_id"], TENANT.name)
                figures = summary["tenants"][TENANT.name]
                read = ", ".join(f"{name} {figures[name]['fetched']}/{figures[name]['updated']}" for name in figures)
                walls.append(run.wall_seconds)
                ok = "yes" if run.wall_seconds < TARGET_SECONDS else "NO"
                start_up = timings.run_start - launched
                label = f"minute {round_number}: {args.changes:,} changes"
                seconds = (f"{run.wall_seconds:.2f}", f"{start_up:.2f}", f"{timings.step_seconds:.2f}")
                rows.append((label, *seconds, read, f"< {TARGET_SECONDS:.0f}", ok))
                rows.append(("", "", "", "", f"({kinds})", "", ""))

    print(
        f"\nthe minute window after {args.changes:,} changes, {args.items:,} items in the store, "
        f"Sonet limits 5/s burst 10, 2 cores, load {load:.1f}, {datetime.now(UTC):%Y-%m-%d}"
    )
    header = ("run", "wall s", "start-up s", "sync step s", "read: fetched/updated per entity", "target", "met")
    print_table(header, rows)
    print(f"median wall of the minute runs: {statistics.median(walls):.2f} s (target < {TARGET_SECONDS:.0f} s)")


if __name__ == "__main__":
    main()
