"""Capacity: many tenants on the minute cadence, in production mode, through the daemon's real path.

Per setting (tenant count x worker count), from nothing: a fresh PostgreSQL database (production mode:
`SONET_PIPELINE_POSTGRES_DSN`, so the instance's `dagster.yaml` is the production one and every
tenant's store lives in its schema), a stand-in in its own process with one company per tenant, and
`dagster-daemon run -m sonet_pipeline.definitions`: its schedules (the minute sync) and sensors (the
shop sensor publishes the shop files) start the runs, as in production. `--workers 0` runs the steps
in the run's process; 1 or 2 start `sonet-pipeline worker` processes with
`SONET_PIPELINE_BROKER_URL=redis://.../<an empty Redis db>`. After the initial load (every tenant's
catalogue published) the bench waits for a minute boundary and for `--minutes` minutes drives a
change mix through the stand-in's admin endpoints: most tenants idle, `--active-share` of them 10-100
random changes, `--burst-share` (at least one tenant a minute) a burst of `--burst` changes, each at a
random moment of the minute, each followed by a probe change (`_capacity_parts.py`) that times the
change to the store and to the published catalogue. The work is measured over the minutes one later
than those of the changes (a minute's changes are synced by the tick that ends it).

It prints per setting: runs per minute by job, CPU seconds per minute of our processes (the daemon,
its code server and runs, the workers, the stand-in, and the database's PostgreSQL backends) and of
the whole machine, Dagster events per minute (`dagster.event_logs` rows), instance growth per hour
(`pg_database_size` and the `dagster` schema, extrapolated from the window), the sync runs' wall
time, and p50/p95/max freshness from a change's `dateModified` to the store and to the shop file.

    .venv/bin/python bench/capacity.py --tenants 50,200,500 --workers 1,2 [--minutes 10]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import redis
from _capacity_parts import (
    CpuSampler,
    Probe,
    ProbeTracker,
    backend_pids,
    machine_cpu_seconds,
    median,
    minute_plan,
    percentiles,
)
from _standin import REPO, BenchTenant, RunningStandin, bench_env, print_table, start_standin, write_tenants
from psycopg import sql

DAEMON = Path(sys.executable).with_name("dagster-daemon")
CLI = Path(sys.executable).with_name("sonet-pipeline")
SHARD_ENV = "SONET_PIPELINE_SYNC_SHARD_SIZE"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--tenants", type=_counts, default=[50, 200, 500], help="tenant counts, e.g. 50,200,500")
    add("--workers", type=_counts, default=[1, 2], help="worker counts, e.g. 0,1,2 (0: in-process executor)")
    add("--minutes", type=int, default=10, help="measured minutes per setting (default: 10)")
    add("--items", type=int, default=300, help="items per company (default: 300)")
    add("--active-share", type=float, default=0.25, help="tenants with 10-100 changes in a minute (0.25)")
    add("--burst-share", type=float, default=0.01, help="tenants with a burst in a minute, at least 1 (0.01)")
    add("--burst", type=int, default=1000, help="changes in a burst (default: 1000)")
    add("--shard-size", type=int, default=None, help=f"tenants per sync step ({SHARD_ENV}), if supported")
    add(
        "--postgres", default=os.environ.get("SONET_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    add("--redis", default="redis://127.0.0.1:6379", help="the Redis server the workers' broker uses")
    add("--warmup-timeout", type=float, default=1800, help="seconds for the initial load (default: 1800)")
    add("--grace", type=float, default=240, help="seconds to keep looking for probes after the window")
    add("--seed", type=int, default=1)
    add("--json", type=Path, default=None, help="also write the results as JSON here")
    add(
        "--source",
        type=Path,
        default=None,
        help="run the pipeline from this copy of the code (e.g. `git archive HEAD | tar -x -C DIR`), "
        "not from the work tree",
    )
    add("--keep", action="store_true", help="keep the work dir and the database (for a post-mortem)")
    args = parser.parse_args()
    code = REPO
    if args.source is not None:  # every child (the stand-in too) imports the package from there
        code = args.source.resolve()
        os.environ["PYTHONPATH"] = str(code)
    if args.shard_size is not None:
        known = SHARD_ENV in (code / "sonet_pipeline" / "config" / "settings.py").read_text()
        if not known:
            raise SystemExit(f"--shard-size: this version of the pipeline has no {SHARD_ENV} setting")

    load, started, results = os.getloadavg()[0], time.time(), []
    for tenants in args.tenants:
        for workers in args.workers:
            print(f"--- {tenants} tenants, {workers} worker(s): starting {datetime.now(UTC):%H:%M:%S}", flush=True)
            result = run_setting(tenants, workers, args)
            results.append(result)
            report([result], args, load)
    print(f"\n=== capacity, {args.minutes} min a setting, {datetime.now(UTC):%F %H:%M} UTC, load at start {load:.1f}")
    report(results, args, load)
    print(f"the whole benchmark took {time.time() - started:.0f} s (load at the end {os.getloadavg()[0]:.1f})")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


def _counts(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None
    if not values or min(values) < 0:
        raise argparse.ArgumentTypeError(f"expected numbers >= 0, got {text!r}")
    return values


def run_setting(count: int, workers: int, args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"bench-capacity-{count}-{workers}-"))
    database = f"bench_capacity_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(args.postgres, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    dsn = f"{args.postgres.rpartition('/')[0]}/{database}"
    companies = {f"{i:03d}": f"capacity-token-{i:03d}" for i in range(1, count + 1)}
    processes: list[subprocess.Popen[bytes]] = []
    broker: redis.Redis | None = None
    sonet: RunningStandin | None = None
    try:
        sonet = start_standin(companies, items=args.items, timeout_seconds=900)
        tenants = [BenchTenant(f"t{code}", code) for code in companies]
        env = {**os.environ, **bench_env(work), **write_tenants(work / "tenants.yaml", sonet, tenants)}
        env["SONET_PIPELINE_POSTGRES_DSN"] = dsn
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # `celery` for the workers
        env.pop("SONET_PIPELINE_BROKER_URL", None)
        # With --source, its package comes first on the path (PYTHONPATH), before the editable install's.
        cwd = args.source.resolve() if args.source is not None else REPO
        if args.shard_size is not None:
            env[SHARD_ENV] = str(args.shard_size)
        if workers:
            broker, env["SONET_PIPELINE_BROKER_URL"] = empty_redis_db(args.redis)
        subprocess.run(
            [sys.executable, "-c", "from sonet_pipeline.jobs.cli_runs import prepare_instance; prepare_instance()"],
            env=env,
            cwd=cwd,
            check=True,
        )
        probe_items = {code: probe_item(sonet, code) for code in companies}
        for number in range(workers):
            processes.append(
                _start([str(CLI), "worker", "--name", f"capacity{number}"], env, cwd, work / f"worker{number}.log")
            )
        daemon = _start([str(DAEMON), "run", "-m", "sonet_pipeline.definitions"], env, cwd, work / "daemon.log")
        processes.insert(0, daemon)
        pg_pids: list[int] = []
        pg_checked = [0.0]

        def extra() -> list[int]:
            if time.monotonic() - pg_checked[0] > 5:
                pg_pids[:] = backend_pids(args.postgres, database)
                pg_checked[0] = time.monotonic()
            return pg_pids

        sampler = CpuSampler(lambda: [p.pid for p in processes], extra)
        sonet_cpu = CpuSampler(lambda: [sonet.process.pid], list)
        sampler.start()
        sonet_cpu.start()
        published = work / "data" / "published"
        warmup = wait_for_initial_load(published, [t.name for t in tenants], processes, args.warmup_timeout)
        print(f"  initial load and first publish of every tenant: {warmup:.0f} s", flush=True)

        tracker = ProbeTracker(dsn, published)
        tracker.start()
        window_start = (int(time.time()) // 60 + 1) * 60
        time.sleep(max(0.0, window_start - time.time()))

        def figures() -> tuple[float, dict[str, Any], tuple[float, float, float]]:
            cpu = (sampler.total(), sonet_cpu.total(), machine_cpu_seconds())
            return time.time(), instance_figures(dsn, database), cpu

        # The work is measured one minute later than the changes are made: the tick at the end of a
        # minute syncs that minute's changes, so the measured ticks are those of the changed minutes.
        start: tuple[float, dict[str, Any], tuple[float, float, float]] | None = None
        rng, changes, seq = random.Random(args.seed), 0, 0
        for minute in range(args.minutes):
            if minute == 1:
                time.sleep(max(0.0, window_start + 60 - time.time()))
                start = figures()
            plan = minute_plan(
                list(companies), rng, active_share=args.active_share, burst_share=args.burst_share, burst=args.burst
            )
            for batch in plan:
                time.sleep(max(0.0, window_start + 60 * minute + batch.offset - time.time()))
                body = {"count": batch.count, "seed": rng.randrange(1 << 30)}
                changes += sonet.admin("POST", f"/companies/{batch.company}/random-changes", body)["changed"]
                seq += 1
                tracker.add(make_probe(sonet, f"t{batch.company}", batch.company, probe_items[batch.company], seq))
            idle = len(companies) - len(plan)
            print(
                f"  minute {minute + 1}: {len(plan)} tenants changed, {idle} idle; {tracker.pending()} probes open",
                flush=True,
            )
            _check_alive(processes)
        if start is None:
            time.sleep(max(0.0, window_start + 60 - time.time()))
            start = figures()
        time.sleep(max(0.0, window_start + 60 * (args.minutes + 1) - time.time()))
        end = figures()
        (started_at, before, cpu_before), (ended_at, after, cpu_after) = start, end
        deadline = time.time() + args.grace
        while tracker.pending() and time.time() < deadline:
            time.sleep(1)
        tracker.stop()
        sampler.stop()
        sonet_cpu.stop()
        final = instance_figures(dsn, database)  # the runs that finished the probes after the window too
        minutes = (ended_at - started_at) / 60
        return summarize(
            count,
            workers,
            minutes,
            changes,
            tracker.probes,
            before,
            after,
            final,
            [b - a for a, b in zip(cpu_before, cpu_after, strict=True)],
            warmup,
            args.grace,
        )
    finally:
        for process in processes:
            _stop_group(process)
        if sonet is not None:
            sonet.stop()
        if broker is not None:
            broker.flushdb()
            broker.close()
        if args.keep:
            print(f"  kept: {work} and database {database}")
        else:
            with psycopg.connect(args.postgres, autocommit=True) as connection:
                connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
            shutil.rmtree(work, ignore_errors=True)


def empty_redis_db(server: str) -> tuple[redis.Redis, str]:
    """An empty database of the Redis server (1-15, tried in random order), and its URL."""
    numbers = list(range(1, 16))
    random.shuffle(numbers)
    for number in numbers:
        client = redis.Redis.from_url(f"{server}/{number}")
        if client.dbsize() == 0:
            return client, f"{server}/{number}"
        client.close()
    raise SystemExit(f"no empty database on {server} for the broker")


def probe_item(sonet: RunningStandin, code: str) -> str:
    """An ACTIVE, web-visible item without variants: the shop's catalogue lists it under its name."""
    from sonet_pipeline.standin.seed_data import SPECIAL_ITEM_CODES

    answer = sonet._session.get(f"{sonet.base_url}/admin/companies/{code}/state/items", timeout=120)
    answer.raise_for_status()
    for line in answer.text.splitlines():
        item = json.loads(line)
        simple = not item.get("modelCode") and item["itemCode"] not in SPECIAL_ITEM_CODES
        if simple and item.get("status") == "ACTIVE" and item.get("webVisible") is True:
            return str(item["itemCode"])
    raise SystemExit(f"company {code} has no active, web-visible item without variants to probe with")


def make_probe(sonet: RunningStandin, tenant: str, code: str, item_code: str, seq: int) -> Probe:
    marker = f"cap{seq:07d}"
    record = {"itemCode": item_code, "name": f"Probe {marker}", "status": "ACTIVE", "webVisible": True}
    answer = sonet.admin("POST", f"/companies/{code}/changes", {"entity": "items", "records": [record]})
    modified = datetime.fromisoformat(answer["versions"][0]["dateModified"])
    return Probe(tenant, item_code, marker, modified, seq)


def wait_for_initial_load(published: Path, tenants: list[str], processes: list, timeout: float) -> float:
    started = time.time()
    while time.time() - started < timeout:
        _check_alive(processes)
        if all((published / t / "catalogue.jsonl").exists() for t in tenants):
            return time.time() - started
        time.sleep(2)
    done = sum((published / t / "catalogue.jsonl").exists() for t in tenants)
    raise SystemExit(f"the initial load did not finish within {timeout:.0f} s ({done}/{len(tenants)} published)")


def instance_figures(dsn: str, database: str) -> dict[str, Any]:
    """The instance's runs (id -> job, status, start, end), newest event id, and sizes, now."""
    with psycopg.connect(dsn, autocommit=True) as connection:
        runs = connection.execute(
            "SELECT run_id, pipeline_name, status, start_time, end_time FROM dagster.runs"
        ).fetchall()
        (event_id,) = connection.execute("SELECT coalesce(max(id), 0) FROM dagster.event_logs").fetchone()  # type: ignore[misc]
        (size,) = connection.execute("SELECT pg_database_size(%s)", [database]).fetchone()  # type: ignore[misc]
        (dagster_size,) = connection.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'dagster' AND c.relkind = 'r'"
        ).fetchone()  # type: ignore[misc]
    return {
        "runs": {r[0]: {"job": r[1], "status": r[2], "start": r[3], "end": r[4]} for r in runs},
        "event_id": event_id,
        "size": size,
        "dagster_size": int(dagster_size),
        "dsn": dsn,
    }


def event_types(dsn: str, first: int, last: int) -> dict[str, int]:
    with psycopg.connect(dsn, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT coalesce(dagster_event_type, 'log message'), count(*) FROM dagster.event_logs "
            "WHERE id > %s AND id <= %s GROUP BY 1 ORDER BY 2 DESC",
            [first, last],
        ).fetchall()
    return {name: n for name, n in rows}


def summarize(count, workers, minutes, changes, probes, before, after, final, cpu, warmup, grace) -> dict[str, Any]:
    new_runs = {k: v for k, v in after["runs"].items() if k not in before["runs"]}
    by_job: dict[str, int] = {}
    for run in new_runs.values():
        by_job[run["job"]] = by_job.get(run["job"], 0) + 1
    sync_walls = [
        after["runs"][k]["end"] - after["runs"][k]["start"]
        for k in new_runs
        if after["runs"][k]["job"].startswith("sonet_sync") and after["runs"][k]["start"] and after["runs"][k]["end"]
    ]
    failed = sum(1 for r in after["runs"].values() if r["status"] == "FAILURE")
    events = after["event_id"] - before["event_id"]
    store = [p.lag(p.store_seen) for p in probes if p.store_seen is not None]
    shop = [p.lag(p.shop_seen) for p in probes if p.shop_seen is not None]
    hours = minutes / 60
    return {
        "tenants": count,
        "workers": workers,
        "minutes": round(minutes, 2),
        "runs_per_minute": {job: round(n / minutes, 2) for job, n in sorted(by_job.items())},
        "failed_runs_total": failed,
        "sync_run_wall_s": {"median": round(median(sync_walls), 1), "max": round(max(sync_walls, default=0), 1)},
        "cpu_s_per_minute": round(cpu[0] / minutes, 1),
        "standin_cpu_s_per_minute": round(cpu[1] / minutes, 1),
        "machine_cpu_s_per_minute": round(cpu[2] / minutes, 1),
        "changes_per_minute": round(changes / minutes, 1),
        "events_per_minute": round(events / minutes, 1),
        "event_types_per_minute": {
            k: round(v / minutes, 1)
            for k, v in event_types(after["dsn"], before["event_id"], after["event_id"]).items()
        },
        "db_growth_mb_per_hour": round((after["size"] - before["size"]) / hours / 1e6, 1),
        "dagster_growth_mb_per_hour": round((after["dagster_size"] - before["dagster_size"]) / hours / 1e6, 1),
        "probes": len(probes),
        "store_fresh_s": percentiles(store, len(probes) - len(store)),
        "shop_fresh_s": percentiles(shop, len(probes) - len(shop)),
        "not_seen": {"store": len(probes) - len(store), "shop": len(probes) - len(shop), "grace_s": grace},
        "initial_load_s": round(warmup),
        "where_the_time_goes_s": where_the_time_goes(probes, final["runs"]),
    }


def where_the_time_goes(probes: list[Probe], runs: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Medians over the probes: change -> start of the sync run that stored it (the latest sync run that
    started before the probe was seen in the store) -> seen in the store; seen in the store -> start
    of the shop run that published it -> seen in the shop file."""

    def starts(job: str) -> list[float]:
        return sorted(r["start"] for r in runs.values() if r["job"].startswith(job) and r["start"])

    def last_before(times: list[float], moment: float) -> float | None:
        earlier = [t for t in times if t <= moment]
        return earlier[-1] if earlier else None

    sync, shop = starts("sonet_sync"), starts("sonet_shop")  # sonet_sync and sonet_sync_minute
    parts: dict[str, list[float]] = {
        "to_sync_start": [],
        "sync_start_to_store": [],
        "store_to_shop_start": [],
        "shop_start_to_file": [],
    }
    for probe in probes:
        changed = probe.modified.timestamp()
        if probe.store_seen is not None and (start := last_before(sync, probe.store_seen)) is not None:
            parts["to_sync_start"].append(max(0.0, start - changed))
            parts["sync_start_to_store"].append(probe.store_seen - max(start, changed))
        if probe.store_seen and probe.shop_seen and (start := last_before(shop, probe.shop_seen)) is not None:
            parts["store_to_shop_start"].append(max(0.0, start - probe.store_seen))
            parts["shop_start_to_file"].append(probe.shop_seen - max(start, probe.store_seen))
    return {name: round(median(values), 1) for name, values in parts.items()}


def report(results: list[dict[str, Any]], args: argparse.Namespace, load: float) -> None:
    header = (
        "tenants",
        "workers",
        "runs/min",
        "CPU s/min: ours, stand-in, machine",
        "changes/min",
        "events/min",
        "DB MB/h (dagster)",
        "sync wall s med/max",
        "store fresh p50/p95/max",
        "shop fresh p50/p95/max",
    )
    rows = []
    for r in results:
        runs = " ".join(f"{job.removeprefix('sonet_')}:{n:g}" for job, n in r["runs_per_minute"].items())
        rows.append(
            (
                str(r["tenants"]),
                str(r["workers"]),
                runs,
                ", ".join(
                    f"{r[k]:.0f}" for k in ("cpu_s_per_minute", "standin_cpu_s_per_minute", "machine_cpu_s_per_minute")
                ),
                f"{r['changes_per_minute']:.0f}",
                f"{r['events_per_minute']:.0f}",
                f"{r['db_growth_mb_per_hour']:.0f} ({r['dagster_growth_mb_per_hour']:.0f})",
                f"{r['sync_run_wall_s']['median']:.0f}/{r['sync_run_wall_s']['max']:.0f}",
                r["store_fresh_s"],
                r["shop_fresh_s"],
            )
        )
    print_table(header, rows)
    for r in results:
        kinds = ", ".join(f"{k} {v:g}" for k, v in list(r["event_types_per_minute"].items())[:6])
        print(
            f"  {r['tenants']}/{r['workers']}: events/min by type: {kinds}; probes {r['probes']}, "
            f"not seen within {args.grace:.0f} s: store {r['not_seen']['store']}, shop {r['not_seen']['shop']}; "
            f"failed runs {r['failed_runs_total']}; initial load {r['initial_load_s']} s"
        )
        parts = ", ".join(f"{k.replace('_', ' ')} {v:g}" for k, v in r["where_the_time_goes_s"].items())
        print(f"  {r['tenants']}/{r['workers']}: freshness, medians in s: {parts}")


def _start(command: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )


def _check_alive(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is not None:
            raise SystemExit(f"{' '.join(map(str, process.args[:3]))} exited with {process.returncode}")


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGINT to the process's own session group (it and its children), SIGKILL what is left after 30 s."""
    try:
        os.killpg(process.pid, signal.SIGINT)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


if __name__ == "__main__":
    main()
