"""A worker dies, nothing is lost: two `sonet-pipeline worker`s, each on a host of its own, take the
steps of four tenants' sync and send runs over the machine's Redis or RabbitMQ, with the production
instance and stores in PostgreSQL. Where the test can make network namespaces (`tests/jobs/hosts.py`),
each host is one: its own network, reaching PostgreSQL, the broker and the stand-in only over its
link (never this machine's 127.0.0.1), its own hostname, which names the worker in the steps' events,
and its own data dir, Dagster home and tenants file. Elsewhere the workers are separate processes
here, each with its own data dir and Dagster home. One worker is SIGKILLed (its whole process group,
everything inside its host) while it executes a step, slowed by the stand-in. Its steps go back to the queue
(Redis: after the visibility timeout; RabbitMQ: when its connection drops) and the other worker
executes them: the interrupted runs end, nothing blocks the next tick, whose runs complete every
tenant on the surviving worker; the stores equal the stand-in and Sonet holds every order exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from sonet_pipeline.assets.inbound import partition_key_for, sync_op_name
from sonet_pipeline.assets.orders import send_op_name
from sonet_pipeline.cli.runs.sync import run_sync
from sonet_pipeline.config import settings
from sonet_pipeline.config.tenants import load_tenants
from sonet_pipeline.definitions import build_definitions
from sonet_pipeline.jobs.cli_runs import prepare_instance
from sonet_pipeline.jobs.liveness import live_run_of
from sonet_pipeline.jobs.send import SEND_JOB
from sonet_pipeline.jobs.sync import SYNC_JOB
from sonet_pipeline.outbox import SENT, open_outbox
from sonet_pipeline.standin.runtime import CompanyConfig, Faults, StandinConfig
from tests.assets.test_inbound_sync import differences
from tests.jobs.hosts import Host, net_namespace, separate_hosts
from tests.jobs.test_celery_workers import BIN, EXAMPLE, Worker
from tests.standin.standin_http import SonetClient

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

TENANTS = {"alpha": "11", "bravo": "12", "charlie": "13", "delta": "14"}
#: The steps' time limit here: the Redis visibility timeout is 10 s more.
STEP_TIME_LIMIT = 30
#: How long the interrupted runs may take to end: the visibility timeout, the sweep, the step once more.
RUN_END_DEADLINE = STEP_TIME_LIMIT + 60


def token(code: str) -> str:
    return f"token-{code}-lost-worker"


@pytest.fixture
def four_companies(start_standin) -> SonetClient:
    companies = [CompanyConfig(code, token(code), seed=20 + i, items=80) for i, code in enumerate(TENANTS.values())]
    return start_standin(StandinConfig(companies=companies, faults=Faults(), lag_seconds=0, late_share=0.0))


@pytest.fixture
def hosts() -> Iterator[list[Host] | None]:
    """Two hosts (network namespaces), or None where the test cannot make them."""
    with separate_hosts(["host-a", "host-b"]) as made:
        yield made


def write_tenants(path: Path, base_url: str) -> Path:
    lines = ["tenants:"]
    for name, code in TENANTS.items():
        lines += [
            f"  - name: {name}",
            f"    sonet: {{base_url: '{base_url}', company: '{code}', token_env: T_{name.upper()}}}",
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def configure(sonet: SonetClient, folder: Path, monkeypatch: pytest.MonkeyPatch, dsn: str, broker: str) -> None:
    for name, code in TENANTS.items():
        monkeypatch.setenv(f"T_{name.upper()}", token(code))
    monkeypatch.setenv(settings.TENANTS_ENV, str(write_tenants(folder / "tenants.yaml", sonet.base_url)))
    monkeypatch.setenv(settings.POSTGRES_DSN_ENV, dsn)
    monkeypatch.setenv(settings.BROKER_URL_ENV, broker)
    monkeypatch.setenv(settings.STEP_TIME_LIMIT_ENV, str(STEP_TIME_LIMIT))


def host_worker(folder: Path, name: str, sonet: SonetClient, host: Host | None) -> Worker:
    """A worker with a data dir and Dagster home of its own (nothing shared with the others but the
    database, the broker and the stand-in). On a host it also has a tenants file of its own, and reaches
    PostgreSQL, the broker and the stand-in at their addresses on the host's link."""
    home = folder / name
    home.mkdir()
    env = {**os.environ, settings.DATA_DIR_ENV: str(home / "data"), "DAGSTER_HOME": str(home / "dagster")}
    if host is not None:
        for variable in (settings.BROKER_URL_ENV, settings.RESULT_BACKEND_ENV, settings.POSTGRES_DSN_ENV):
            if variable in env:
                env[variable] = host.url(env[variable])
        env[settings.TENANTS_ENV] = str(write_tenants(home / "tenants.yaml", host.url(sonet.base_url)))
    return Worker(f"{name}-{uuid.uuid4().hex[:6]}", folder / f"{name}.log", env=env, host=host)


def assert_on_its_host(worker: Worker, dsn: str) -> None:
    """The worker and its pool processes are in its host's network, not ours, and from there this
    machine's PostgreSQL at 127.0.0.1 cannot be reached (only through the host's link)."""
    host = worker.host
    assert host is not None
    inside = host.net_namespace()
    assert inside != net_namespace("self")
    assert {net_namespace(pid) for pid in {worker.process.pid, *worker.children()}} == {inside}
    probe = f"import socket; socket.create_connection(('127.0.0.1', {urlsplit(dsn).port}), timeout=5)"
    assert host.run([sys.executable, "-c", probe]).returncode != 0, "the host reaches 127.0.0.1's PostgreSQL"
    assert urlsplit(worker_env_dsn(worker)).hostname == host.outside


def worker_env_dsn(worker: Worker) -> str:
    """The DSN the worker was started with (its environment, as /proc shows it)."""
    environ = Path(f"/proc/{worker.process.pid}/environ").read_bytes().split(b"\0")
    (dsn,) = [e.split(b"=", 1)[1].decode() for e in environ if e.startswith(settings.POSTGRES_DSN_ENV.encode() + b"=")]
    return dsn


def step_pids(instance: DagsterInstance, run_id: str) -> set[int]:
    """The processes the run's steps started in (their STEP_START events)."""
    return {
        record.dagster_event.pid
        for record in instance.all_logs(run_id, of_type=DagsterEventType.STEP_START)
        if record.dagster_event is not None and record.dagster_event.pid is not None
    }


def wait_until_empty(host: Host, timeout: float = 15.0) -> None:
    """Every process of the host is gone (the SIGKILL took the worker's whole tree)."""
    deadline = time.monotonic() + timeout
    while left := host.pids():
        assert time.monotonic() < deadline, f"processes left on {host.hostname} after the kill: {left}"
        time.sleep(0.1)


def start_run(job: str, tags: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`dagster job execute` of `job` in the background, its output to `log`: the run's orchestrator."""
    command = [str(BIN / "dagster"), "job", "execute", "-m", "sonet_pipeline.definitions", "-j", job]
    with log.open("ab") as output:
        return subprocess.Popen([*command, "--tags", json.dumps(tags)], stdout=output, stderr=subprocess.STDOUT)


def sync_tags() -> dict[str, str]:
    return {"dagster/partition": partition_key_for(datetime.now(UTC))}


def step_workers(instance: DagsterInstance, run_id: str) -> tuple[list[tuple[str, str]], dict[str, float], set[str]]:
    """A run's (step, worker) hand-overs in order, when each step last started and the steps finished."""
    handed: list[tuple[str, str]] = []
    started: dict[str, float] = {}
    finished: set[str] = set()
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or record.step_key is None:
            continue
        if event.event_type == DagsterEventType.ENGINE_EVENT and "in celery worker" in record.message:
            handed.append((record.step_key, event.engine_event_data.metadata["Celery worker"].value))
        elif event.event_type == DagsterEventType.STEP_START:
            started[record.step_key] = record.timestamp
        elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            finished.add(record.step_key)
    return handed, started, finished


def run_ids(instance: DagsterInstance, jobs: tuple[str, ...], known: set[str]) -> list[str]:
    return [r.run_id for job in jobs for r in instance.get_runs(RunsFilter(job_name=job)) if r.run_id not in known]


def enqueue(sonet: SonetClient, label: str) -> dict[str, list[str]]:
    """One order per tenant; the message ids by tenant."""
    ids: dict[str, list[str]] = {}
    with open_outbox(settings.postgres_dsn()) as outbox:
        for tenant in TENANTS:
            order = {**EXAMPLE, "orderNumber": f"WEB-{label}-{tenant}"}
            (enqueued,) = outbox.enqueue_many(tenant, [order], actor="test", now=sonet.clock.now())
            ids.setdefault(tenant, []).append(enqueued.message_id)
    return ids


def erp_changes(sonet: SonetClient, seed: int) -> None:
    for code in TENANTS.values():
        sonet.admin_json("POST", f"/companies/{code}/random-changes", json={"count": 15, "seed": seed})
    sonet.advance(60)


def in_hand(instance: DagsterInstance, ids: list[str]) -> dict[tuple[str, str], tuple[str, float]]:
    """The steps being executed: (run, step) -> (worker, when the step started)."""
    found = {}
    for run_id in ids:
        handed, started, finished = step_workers(instance, run_id)
        for step, node in handed:  # the last hand-over of a step wins
            if step in started and step not in finished:
                found[(run_id, step)] = (node, started[step])
    return found


def wait_for_a_step_just_started(instance: DagsterInstance, ids: list[str], workers: list[Worker]) -> Worker:
    """A worker executing a step of the runs that started less than a second ago (so the step is far
    from done when the worker is killed)."""
    deadline = time.monotonic() + 60
    nodes = {w.node: w for w in workers}
    while time.monotonic() < deadline:
        for node, started in in_hand(instance, ids).values():
            if node in nodes and time.time() - started < 1.0:
                return nodes[node]
        time.sleep(0.1)
    pytest.fail("no worker was seen starting a step within 60 s")


@pytest.mark.parametrize("broker", ["redis_db", "rabbitmq_vhost"])
def test_a_worker_killed_mid_step_loses_nothing(
    four_companies, tmp_path, monkeypatch, postgres_database, broker, request, hosts
):
    """Over Redis the lost steps come back after the visibility timeout; over RabbitMQ when the dead
    worker's connection drops. On hosts (network namespaces), the kill leaves nothing running on the
    victim's host, and the survivor's steps ran in its pool processes, inside its host."""
    sonet = four_companies
    configure(sonet, tmp_path, monkeypatch, postgres_database, request.getfixturevalue(broker))
    instance = prepare_instance()
    on_hosts = hosts or [None, None]
    workers = [
        host_worker(tmp_path, name, sonet, host) for name, host in zip(("host-a", "host-b"), on_hosts, strict=True)
    ]
    orders: dict[str, list[str]] = {tenant: [] for tenant in TENANTS}
    orchestrators: list[subprocess.Popen[bytes]] = []
    runs_log = tmp_path / "runs.log"
    try:
        for worker in workers:
            worker.wait_ready()
            if worker.host is not None:
                assert_on_its_host(worker, postgres_database)
        tenants = load_tenants()  # the initial load, from the CLI in this process: the workers' steps are deltas
        initial = run_sync(build_definitions(tenants, clock=sonet.clock), instance, tenants, now=datetime.now(UTC))
        assert initial.success, initial.failures

        # The minute's runs, every Sonet answer slowed: one worker dies while it executes a step.
        for tenant, ids in enqueue(sonet, "FIRST").items():
            orders[tenant] += ids
        erp_changes(sonet, seed=1)
        sonet.admin_json("POST", "/faults", json={"slow_share": 0.5, "slow_seconds": 1.0})
        known = {r.run_id for r in instance.get_runs()}
        orchestrators = [start_run(job, tags, runs_log) for job, tags in ((SYNC_JOB, sync_tags()), (SEND_JOB, {}))]
        deadline = time.monotonic() + 120
        while len(interrupted := run_ids(instance, (SYNC_JOB, SEND_JOB), known)) < 2:
            assert time.monotonic() < deadline, "the runs were not created"
            time.sleep(0.2)
        victim = wait_for_a_step_just_started(instance, interrupted, workers)
        (survivor,) = [w for w in workers if w is not victim]
        os.killpg(victim.process.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        victim.process.wait(timeout=10)
        if victim.host is not None:
            wait_until_empty(victim.host)
        lost = {key for key, (node, _) in in_hand(instance, interrupted).items() if node == victim.node}
        assert lost, "the killed worker held no step"
        sonet.admin_json("POST", "/faults", json={"slow_share": 0.0, "slow_seconds": 0.0})

        # The interrupted runs end by themselves: the dead worker's steps executed again by the survivor.
        for orchestrator in orchestrators:
            try:
                orchestrator.wait(timeout=max(1.0, RUN_END_DEADLINE - (time.monotonic() - killed_at)))
            except subprocess.TimeoutExpired:
                pytest.fail(f"an interrupted run still waits {RUN_END_DEADLINE} s after its worker died")
        ended_after = time.monotonic() - killed_at
        assert live_run_of(instance, SYNC_JOB) is None and live_run_of(instance, SEND_JOB) is None

        # The next tick: new changes and orders, every tenant completed on the surviving worker.
        for tenant, ids in enqueue(sonet, "NEXT").items():
            orders[tenant] += ids
        erp_changes(sonet, seed=2)
        known = {r.run_id for r in instance.get_runs()}
        for job, tags in ((SYNC_JOB, sync_tags()), (SEND_JOB, {})):
            orchestrators.append(start_run(job, tags, runs_log))
        for orchestrator in orchestrators[2:]:
            assert orchestrator.wait(timeout=120) == 0, runs_log.read_text(errors="replace")[-3000:]
        next_tick_after = time.monotonic() - killed_at
        next_tick = run_ids(instance, (SYNC_JOB, SEND_JOB), known)
        survivor_pool = survivor.children()
        survivor_pool_networks = {net_namespace(pid) for pid in survivor_pool}
    except AssertionError as failed:
        logs = "\n".join(f"{w.node}: {w.tail()}" for w in workers)
        runs = runs_log.read_text(errors="replace")[-3000:] if runs_log.exists() else ""
        raise AssertionError(f"{failed}\nworker logs:\n{logs}\nruns:\n{runs}") from None
    finally:
        for orchestrator in orchestrators:
            if orchestrator.poll() is None:
                orchestrator.kill()
        for worker in workers:
            worker.stop()

    retaken = set()
    for run_id in interrupted:
        run = instance.get_run_by_id(run_id)
        assert run is not None and run.status in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE)
        handed, _, finished = step_workers(instance, run_id)
        retaken |= {(run_id, step) for step, node in handed if node == survivor.node}
        if run.status == DagsterRunStatus.SUCCESS:
            assert finished == {step for step, _ in handed}, f"{run.job_name}: a step never finished"
    assert lost <= retaken, f"steps of the killed worker never executed again: {lost - retaken}"

    steps = {sync_op_name(t) for t in TENANTS} | {send_op_name(t) for t in TENANTS}
    assert len(next_tick) == 2
    for run_id in next_tick:
        run = instance.get_run_by_id(run_id)
        assert run is not None and run.status == DagsterRunStatus.SUCCESS
        handed, _, finished = step_workers(instance, run_id)
        assert {node for _, node in handed} == {survivor.node}
        assert step_pids(instance, run_id) <= survivor_pool, "a step of the next tick ran outside the survivor's pool"
        steps -= finished
    assert steps == set(), f"steps of the next tick not completed: {steps}"
    if survivor.host is not None:
        # The node in the steps' events is the name the worker gave itself from its host's hostname
        # (`--name` has no host part), as its answer to `wait_ready`'s ping showed.
        assert survivor.node.endswith(f"@{survivor.host.hostname}")
        assert survivor_pool_networks == {survivor.host.net_namespace()}

    assert differences(sonet, TENANTS) == {}
    with open_outbox(postgres_database) as outbox:
        assert {outbox.get(m).state for ids in orders.values() for m in ids} == {SENT}
    for tenant, code in TENANTS.items():
        accepted = [o["messageId"] for o in sonet.admin_json("GET", f"/companies/{code}/orders")]
        assert sorted(accepted) == sorted(orders[tenant]), f"{tenant}: Sonet holds {accepted}"
    print(
        f"\n{broker}, {'on network namespaces' if hosts else 'as processes'}: worker {victim.node} killed; "
        f"taken again by the survivor: {sorted(s for _, s in lost)}; "
        f"interrupted runs ended after "
        f"{ended_after:.1f} s ({[instance.get_run_by_id(r).status.value for r in interrupted]}); "  # type: ignore[union-attr]
        f"the next tick completed every tenant {next_tick_after:.1f} s after the kill"
    )
