"""The minute schedule with 1, 10 and 50 tenants: runs, CPU, wall and Dagster events per minute, freshness.

For each tenant count: one stand-in (a separate process) with that many companies of 300 items each,
throttled at Sonet's defaults (5 requests/s, burst 10, 4 in flight per company; the tenants' client
throttles the same), a fresh data dir and a persistent SQLite instance (`prepare_instance()`). Then a
few simulated minutes, back to back (no waiting for the wall clock's minute): each minute makes some
random changes in every company (none with `--changes 0`: every tenant idle), asks the real schedule
(`sonet_sync_every_minute` of `build_definitions`) for its answer to this minute's tick
(`build_schedule_context`, `evaluate_tick`), and executes each run request as the daemon's run would:
`execute_in_process` of the minute sync job with the request's run config and tags, against that
instance, in this process (so the CPU figure is this process's CPU over the run). Minute 0 is the
initial load. Each tenant count runs once per shard size (`--shard-sizes`, set as
`SONET_PIPELINE_SYNC_SHARD_SIZE`). Events: all the run's records in the instance's event log
(`all_logs`: Dagster's events and the steps' log lines), per run and per tenant.

Freshness: per tenant, from its newest change (the newest `dateModified` the run read, from the
materializations' `lag_seconds`) to the moment it is in the DuckDB store (the materialization) and to
the moment the tenant's snapshot is published (its sync's observation, logged after the snapshot);
the table shows the maximum over the tenants. It leaves out the wait for the next tick (up to 60 s)
and a daemon run's start-up (a new process: ~2.5 s, `bench/process_model.py`), which come on top in
production.

    .venv/bin/python bench/inbound_tenants.py [--tenants 1 10 50] [--minutes 2] [--changes 20] [--shard-sizes 1 25]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from _standin import BenchTenant, RunningStandin, bench_env, print_table, running_standin, write_tenants

SCHEDULE = "sonet_sync_every_minute"
ITEMS = 300


@dataclass
class Minute:
    runs: int
    cpu_seconds: float
    wall_seconds: list[float]
    #: max over tenants: newest change -> in the store, newest change -> snapshot published
    store_lag: float
    published_lag: float
    tick_seconds: float
    failures: list[str]
    #: Dagster events the runs stored in the instance's event log
    events: int = 0
    #: those events by type (user log lines count as "LOG")
    event_types: dict[str, int] = field(default_factory=dict)


@contextlib.contextmanager
def stderr_to(path: Path) -> Iterator[None]:
    """Dagster's console log of every event goes to `path` (the run itself is unchanged)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with path.open("ab") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--minutes", type=int, default=2, help="simulated minutes after the initial load")
    parser.add_argument("--changes", type=int, default=20, help="random changes per company per minute")
    parser.add_argument("--shard-sizes", type=int, nargs="+", default=[1], help="tenants per step of the minute sync")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # one tenant count, JSON out (a child)
    args = parser.parse_args()
    if args.one:
        with tempfile.TemporaryDirectory(prefix=f"bench-tenants-{args.one}-") as tmp:
            build, initial, minutes = simulate(args.one, args.minutes, args.changes, Path(tmp))
        print(json.dumps({"build": build, "initial": asdict(initial), "minutes": [asdict(m) for m in minutes]}))
        return
    load = os.getloadavg()[0]
    results: dict[tuple[int, int], tuple[float, Minute, list[Minute]]] = {}
    started = time.perf_counter()
    for count in args.tenants:
        for shard_size in args.shard_sizes:
            # A process per setting, as each deployment has its own: Dagster caches its instance per process.
            command = [sys.executable, __file__, "--one", str(count), "--minutes", str(args.minutes)]
            env = {**os.environ, "SONET_PIPELINE_SYNC_SHARD_SIZE": str(shard_size)}
            child = subprocess.run([*command, "--changes", str(args.changes)], capture_output=True, text=True, env=env)
            if child.returncode != 0:
                raise SystemExit(f"{count} tenants: the simulation failed:\n{child.stderr[-3000:]}")
            found = json.loads(child.stdout.strip().splitlines()[-1])
            minutes = [Minute(**m) for m in found["minutes"]]
            results[count, shard_size] = (found["build"], Minute(**found["initial"]), minutes)
            took = time.perf_counter() - started
            print(f"{count} tenants, shards of {shard_size}: done in {took:.0f} s", flush=True)
            print(f"  last minute's events by type: {json.dumps(minutes[-1].event_types, sort_keys=True)}", flush=True)
    took = time.perf_counter() - started

    setting = f"{ITEMS} items a tenant, {args.changes} changes per tenant per minute, {args.minutes} minutes"
    print(f"\nthe minute schedule, {setting} after the initial load, 2 cores, load {load:.1f}, {datetime.now(UTC):%F}")
    header = (
        "tenants",
        "shard",
        "runs/min",
        "target",
        "met",
        "CPU s/min",
        "wall s/run",
        "wall s/tenant",
        "run < 60 s",
        "fresh: store s",
        "fresh: snapshot s",
        "events/run",
        "events/tenant",
        "tick s",
        "initial load s",
    )
    rows = []
    for (count, shard_size), (_, initial, minutes) in results.items():
        runs = [m.runs for m in minutes]
        walls = [w for m in minutes for w in m.wall_seconds]
        met = all(r == 1 for r in runs) and not any(m.failures for m in minutes)
        rows.append(
            (
                str(count),
                str(shard_size),
                _spread(runs, "{:.0f}"),
                "1",
                "yes" if met else "NO",
                _spread([m.cpu_seconds for m in minutes], "{:.2f}"),
                _spread(walls, "{:.2f}"),
                f"{statistics.median(walls) / count:.2f}",
                "yes" if max(walls) < 60 else "NO",
                _spread([m.store_lag for m in minutes], "{:.2f}"),
                _spread([m.published_lag for m in minutes], "{:.2f}"),
                _spread([m.events / max(m.runs, 1) for m in minutes], "{:.0f}"),
                _spread([m.events / count for m in minutes], "{:.2f}"),
                _spread([m.tick_seconds for m in minutes], "{:.2f}"),
                f"{sum(initial.wall_seconds):.2f}",
            )
        )
    print_table(header, rows)
    print("figures: median over the minutes, [min-max] when they differ. Freshness: max over the tenants, from a")
    print("tenant's newest change to its rows in the store / its snapshot published; the wait for a tick comes on top")
    for (count, shard_size), (_, _, minutes) in results.items():
        for failure in {f for m in minutes for f in m.failures}:
            print(f"  {count} tenants, shards of {shard_size}: FAILED: {failure}")
    print(f"the whole benchmark took {took:.0f} s (load at the end {os.getloadavg()[0]:.1f})")


def _spread(values: list[float], fmt: str) -> str:
    middle = fmt.format(statistics.median(values))
    low, high = fmt.format(min(values)), fmt.format(max(values))
    return middle if low == high else f"{middle} [{low}-{high}]"


def simulate(count: int, minutes: int, changes: int, work: Path) -> tuple[float, Minute, list[Minute]]:
    companies = {f"{i:02d}": f"bench-token-{i:02d}" for i in range(1, count + 1)}
    tenants = [BenchTenant(f"t{code}", code) for code in companies]
    with running_standin(companies, items=ITEMS) as sonet:
        env = bench_env(work) | write_tenants(work / "tenants.yaml", sonet, tenants)
        saved = {name: os.environ.get(name) for name in env}
        os.environ.update(env)
        try:
            return _simulate(sonet, minutes, changes, work)
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _simulate(sonet: RunningStandin, minutes: int, changes: int, work: Path) -> tuple[float, Minute, list[Minute]]:
    from sonet_pipeline.config.tenants import load_tenants
    from sonet_pipeline.definitions import build_definitions
    from sonet_pipeline.jobs.cli_runs import prepare_instance
    from sonet_pipeline.jobs.sync import MINUTE_SYNC_JOB

    started = time.perf_counter()
    defs = build_definitions(load_tenants())
    build = time.perf_counter() - started
    schedule = defs.resolve_schedule_def(SCHEDULE)
    job = defs.resolve_job_def(MINUTE_SYNC_JOB)
    repository = defs.get_repository_def()
    instance = prepare_instance()
    log = work / "dagster-console.log"

    def minute(number: int) -> Minute:
        if number > 0 and changes:
            for code in sonet.companies:
                sonet.admin("POST", f"/companies/{code}/random-changes", {"count": changes, "seed": number})
        return one_minute(schedule, job, instance, repository, log)

    initial = minute(0)
    return build, initial, [minute(n) for n in range(1, minutes + 1)]


def one_minute(schedule, job, instance, repository, log: Path) -> Minute:
    from dagster import build_schedule_context

    from sonet_pipeline.jobs.cli_runs import execute_job

    now = datetime.now(UTC)
    tick = now.replace(second=0, microsecond=0)
    started = time.perf_counter()
    with stderr_to(log):
        context = build_schedule_context(instance=instance, scheduled_execution_time=tick, repository_def=repository)
        data = schedule.evaluate_tick(context)
    tick_seconds = time.perf_counter() - started
    requests = list(data.run_requests or [])
    minute = Minute(len(requests), 0.0, [], float("nan"), float("nan"), tick_seconds, [])
    if not requests:
        minute.failures.append(f"the tick was skipped: {data.skip_message}")
    store_lags, published_lags = [], []
    for request in requests:
        cpu, wall = time.process_time(), time.perf_counter()
        with stderr_to(log):
            result = execute_job(
                job,
                instance,
                tags=request.tags,
                run_config=request.run_config or None,
                partition_key=request.partition_key,
                asset_selection=list(request.asset_selection) if request.asset_selection else None,
            )
        minute.wall_seconds.append(time.perf_counter() - wall)
        minute.cpu_seconds += time.process_time() - cpu
        if not result.success:
            minute.failures.append(f"run {result.run_id} failed (console log: {log})")
        records = instance.all_logs(result.run_id)
        minute.events += len(records)
        for record in records:
            kind = record.dagster_event.event_type_value if record.dagster_event else "LOG"
            minute.event_types[kind] = minute.event_types.get(kind, 0) + 1
        store_lag, published_lag = _lags(records)
        store_lags.append(store_lag)
        published_lags.append(published_lag)
    if requests:
        minute.store_lag, minute.published_lag = max(store_lags), max(published_lags)
    return minute


def _lags(records) -> tuple[float, float]:
    """Max over tenants: seconds from the tenant's newest change to its rows in the store, and to its
    snapshot published (its sync's observation). The newest change is the newest `dateModified` the run
    read: a materialization's time minus its `lag_seconds`."""
    from dagster import DagsterEventType

    newest: dict[str, tuple[float, float]] = {}  # tenant -> (newest change, when it was in the store)
    published_at: dict[str, float] = {}
    for record in records:
        event = record.dagster_event
        if event is None:
            continue
        if event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.step_materialization_data.materialization
            lag = materialization.metadata.get("lag_seconds")
            if lag is None:
                continue
            tenant = materialization.asset_key.path[0]
            changed = record.timestamp - float(lag.value)
            if changed > newest.get(tenant, (float("-inf"), 0.0))[0]:
                newest[tenant] = (changed, record.timestamp)
        elif event.event_type == DagsterEventType.ASSET_OBSERVATION:
            observation = event.asset_observation_data.asset_observation
            published_at[observation.asset_key.path[0]] = record.timestamp
    if not newest:
        return float("nan"), float("nan")
    store = max(at - changed for changed, at in newest.values())
    published = max(published_at.get(t, float("nan")) - changed for t, (changed, _) in newest.items())
    return store, published


if __name__ == "__main__":
    main()
