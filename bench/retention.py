"""Bounded storage: the Dagster instance over 1,000 minute-runs of 2 tenants, without and with retention.

    .venv/bin/python bench/retention.py [--runs 1000] [--every 100] [--real-runs 100] [--dir /dev/shm]

1. Real runs: `--real-runs` runs of the pipeline's sync job for 2 tenants (`run_sync`, as
   `sonet-pipeline sync` runs it, in this process) against a stand-in of 2 companies in its own
   process, in a fresh instance (the `dagster.yaml` the pipeline writes, SQLite). They give the growth a
   minute-run costs, and the run whose events the next step replays.
2. The two scenarios, each in a fresh instance, driven by `--runs` runs: one real sync run, then
   replayed runs, each a new run record copied from that one (same job, tags, snapshots) whose events
   are those of the last real run of step 1, written one by one through the instance
   (`handle_new_event`, what a running run's executor does): the same rows in the same tables and
   files as the real run, without the sync's own work (a real run takes ~1.1 s here, a replayed one
   ~0.5 s). Captured stdout/stderr files are not replayed (a few empty files a run; `storage/` is
   counted apart).
   - without retention: nothing is deleted;
   - with retention: after every `--every` runs the retention job runs through Dagster (`run_retention`,
     as `sonet-pipeline retention` does) with time compressed: "a day" is `--every` minute-runs, so
     with the default age of 1 day it deletes every successful run made before the last `--every`
     (its clock is set to 1 day after the creation of the first of them). The real cadence (a run a
     minute, retention daily, 1 day) keeps 1,440-2,880 runs; this keeps `--every` to 2 x `--every`.

After every `--every` runs it prints the instance's size: the bytes of its SQLite files (`*.db`,
`*-wal`, `*-shm`), their number, all of `storage/` (captured logs), and its rows: runs, and
`event_logs` rows over every SQLite file (each run's own file and the index). The instance lives
under `--dir` (default /dev/shm: sizes are the same as on disk, writes cost no fsync). Dagster's own
log lines go to `<work dir>/dagster.log`.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _standin import BenchTenant, bench_env, print_table, running_standin, write_tenants

COMPANIES = {"01": "bench-token-01", "02": "bench-token-02"}
TENANTS = [BenchTenant("acme", "01", limits=(100, 100, 4)), BenchTenant("nordic", "02", limits=(100, 100, 4))]
MB = 1_000_000


@dataclass
class Size:
    sqlite_bytes: int
    sqlite_files: int
    storage_bytes: int
    runs: int
    event_rows: int


def measure(home: Path, instance: Any) -> Size:
    sqlite_bytes = files = 0
    rows = 0
    for path in home.rglob("*"):
        if path.is_file() and path.name.endswith((".db", ".db-wal", ".db-shm")):
            sqlite_bytes += path.stat().st_size
            files += 1
    for path in (home / "history" / "runs").glob("*.db"):
        with sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True) as connection:  # no -wal/-shm made
            rows += connection.execute("SELECT COUNT(*) FROM event_logs").fetchone()[0]
    storage = sum(p.stat().st_size for p in (home / "storage").rglob("*") if p.is_file())
    return Size(sqlite_bytes, files, storage, instance.get_runs_count(), rows)


class Scenario:
    """One fresh instance (its own data dir and DAGSTER_HOME) with the pipeline's definitions."""

    def __init__(self, root: Path, name: str, env: dict[str, str]) -> None:
        from sonet_pipeline.common.clock import ManualClock
        from sonet_pipeline.config.tenants import load_tenants
        from sonet_pipeline.definitions import build_definitions
        from sonet_pipeline.jobs.cli_runs import prepare_instance

        os.environ.update(env | bench_env(root / name))
        self.name, self.home = name, Path(os.environ["DAGSTER_HOME"])
        self.tenants = load_tenants()
        self.clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
        self.defs = build_definitions(self.tenants, clock=self.clock)
        self.instance = prepare_instance()
        self.made: list[str] = []

    def real_run(self) -> str:
        from sonet_pipeline.cli.runs.sync import run_sync

        summary = run_sync(self.defs, self.instance, self.tenants)
        if not summary.success:
            raise SystemExit(f"a real sync run failed: {summary.failures}")
        self.made.append(summary.run_id)
        return summary.run_id

    def replay(self, template: Any, events: list[Any]) -> str:
        """A run like `template` with its events written anew through the instance."""
        from dagster import DagsterRunStatus

        run = self.instance.add_run(template._replace(run_id=str(uuid.uuid4()), status=DagsterRunStatus.NOT_STARTED))
        for event in events:
            self.instance.handle_new_event(event._replace(run_id=run.run_id, timestamp=time.time()))
        self.made.append(run.run_id)
        return run.run_id

    def retention(self, keep: int) -> dict[str, Any]:
        """The retention job, its clock 1 day (the success age) after the first of the last `keep` runs."""
        from sonet_pipeline.cli.runs.retention import run_retention

        first_kept = self.instance.get_run_record_by_id(self.made[-keep])
        created = first_kept.create_timestamp.replace(tzinfo=UTC)
        self.clock.set(max(self.clock.now(), created + timedelta(days=1)))
        summary = run_retention(self.defs, self.instance, dry_run=False)
        if not summary.success:
            raise SystemExit(f"the retention run failed: {summary.failures}")
        return summary.as_json()


def row(name: str, made: int, size: Size, previous: Size | None, seconds: float, note: str = "") -> list[str]:
    grown = "" if previous is None else f"{(size.sqlite_bytes - previous.sqlite_bytes) / MB:+.1f}"
    return [
        name,
        f"{made:,}",
        f"{size.sqlite_bytes / MB:.1f}",
        grown,
        f"{size.sqlite_files:,}",
        f"{size.storage_bytes / 1000:.0f}",
        f"{size.runs:,}",
        f"{size.event_rows:,}",
        f"{seconds:.0f}",
        note,
    ]


HEADER = [
    "scenario",
    "runs made",
    "SQLite MB",
    "MB since",
    "SQLite files",
    "storage/ KB",
    "runs",
    "event_logs rows",
    "s",
    "retention deleted",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="replayed minute-runs per scenario")
    parser.add_argument("--every", type=int, default=100, help="print (and, with retention, prune) every N runs")
    parser.add_argument("--real-runs", type=int, default=100, help="real sync runs first (at least 1)")
    parser.add_argument("--items", type=int, default=200, help="items per stand-in company")
    parser.add_argument("--dir", default="/dev/shm" if Path("/dev/shm").is_dir() else None)
    args = parser.parse_args()
    started = datetime.now(UTC)
    print(f"retention benchmark, {started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    work = Path(tempfile.mkdtemp(prefix="bench-retention-", dir=args.dir))
    log = open(work / "dagster.log", "w")  # noqa: SIM115 - Dagster's console lines, for the whole run
    saved_stderr = os.dup(2)
    os.dup2(log.fileno(), 2)
    rows: list[list[str]] = []
    try:
        with running_standin(COMPANIES, items=args.items, unthrottled=True) as sonet:
            env = write_tenants(work / "tenants.yaml", sonet, TENANTS) | {
                # Only runs are measured: the other kinds are kept (they live outside the instance).
                "SONET_PIPELINE_RETENTION_HISTORY_DAYS": "forever",
                "SONET_PIPELINE_RETENTION_SETTLED_ORDERS_DAYS": "forever",
                "SONET_PIPELINE_RETENTION_ARCHIVE_DAYS": "forever",
            }
            real = Scenario(work, "real", env)
            before, clock = measure(real.home, real.instance), time.perf_counter()
            for _ in range(max(args.real_runs, 1)):
                template_id = real.real_run()
            after = measure(real.home, real.instance)
            count = max(args.real_runs, 1)
            real_seconds = time.perf_counter() - clock
            rows.append(row("real sync runs", count, after, before, real_seconds))
            events = real.instance.all_logs(template_id)
            per_run = (after.sqlite_bytes - before.sqlite_bytes) / count
            for name, prune in (("without retention", False), ("with retention", True)):
                scenario = Scenario(work, name.replace(" ", "-"), env)
                previous, clock = measure(scenario.home, scenario.instance), time.perf_counter()
                # The first run is real (its snapshots are this instance's); the others copy it, with the
                # events of the last calibration run (the steady state, not an initial load).
                template = scenario.instance.get_run_by_id(scenario.real_run())
                for made in range(1, args.runs + 1):
                    if made > 1:
                        scenario.replay(template, events)
                    if made % args.every:
                        continue
                    note = ""
                    if prune:
                        report = scenario.retention(keep=args.every)
                        note = f"{report['counts']['runs']} runs"
                    size = measure(scenario.home, scenario.instance)
                    rows.append(row(name, made, size, previous, time.perf_counter() - clock, note))
                    previous = size
                    print("  ".join(rows[-1][:9]), file=sys.stdout, flush=True)
    finally:
        os.dup2(saved_stderr, 2)
        log.close()
    print()
    print(
        f"a real sync run of 2 tenants: {per_run / MB:.2f} MB of SQLite and {len(events)} events; "
        f"{real_seconds / count:.2f} s each ({count} runs, {args.items} items a company)"
    )
    print_table(HEADER, rows)
    print(
        f"\nwork dir {work} (Dagster's log lines in dagster.log); "
        f"{(datetime.now(UTC) - started).total_seconds() / 60:.1f} minutes in all"
    )


if __name__ == "__main__":
    main()
