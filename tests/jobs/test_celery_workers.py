"""Steps on a pool of workers: with `SONET_PIPELINE_BROKER_URL` set, sync and send runs started through
the production instance (as the daemon's launcher starts them) hand each tenant's step to a
`sonet-pipeline worker` over the machine's Redis; the stores equal Sonet, each order is sent once.

Runs against the machine's Redis (a database of its own, flushed after) and PostgreSQL (a database
of its own); the worker and the run are separate processes, as on separate hosts.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter

from sonet_pipeline.assets.inbound import partition_key_for, sync_op_name
from sonet_pipeline.assets.orders import send_op_name
from sonet_pipeline.common.process_tags import PID_TAG
from sonet_pipeline.config import settings
from sonet_pipeline.contract import read_text
from sonet_pipeline.jobs.cli_runs import prepare_instance
from sonet_pipeline.jobs.executor import celery_app
from sonet_pipeline.jobs.send import SEND_JOB
from sonet_pipeline.jobs.sync import SYNC_JOB
from sonet_pipeline.outbox import SENT, open_outbox
from tests.assets.test_inbound_sync import COMPANIES, differences
from tests.jobs.hosts import Host
from tests.standin.standin_http import TOKENS, SonetClient

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

BIN = Path(sys.executable).parent
EXAMPLE = json.loads(read_text("examples/commerce-order-b2b.json"))


@pytest.fixture
def two_companies(start_standin) -> SonetClient:
    return start_standin(items=150, companies=tuple(COMPANIES.values()), lag_seconds=0, late_share=0.0)


def configure(sonet: SonetClient, folder: Path, monkeypatch: pytest.MonkeyPatch, dsn: str, broker: str) -> None:
    lines = ["tenants:"]
    for name, company in COMPANIES.items():
        lines += [
            f"  - name: {name}",
            f"    sonet: {{base_url: '{sonet.base_url}', company: '{company}', token_env: T_{name.upper()}}}",
        ]
        monkeypatch.setenv(f"T_{name.upper()}", TOKENS[company])
    (folder / "tenants.yaml").write_text("\n".join(lines) + "\n")
    monkeypatch.setenv(settings.TENANTS_ENV, str(folder / "tenants.yaml"))
    monkeypatch.setenv(settings.POSTGRES_DSN_ENV, dsn)
    monkeypatch.setenv(settings.BROKER_URL_ENV, broker)


class Worker:
    """`sonet-pipeline worker` in a process (and session) of its own, stopped with SIGTERM after the test.

    On a `Host` (`tests/jobs/hosts.py`) it is started inside the host and names itself after the host's
    hostname; else it runs here and takes this machine's."""

    def __init__(self, name: str, log: Path, env: dict[str, str] | None = None, host: Host | None = None) -> None:
        self.node, self.log, self.host = f"{name}@{host.hostname if host else socket.gethostname()}", log, host
        command = [str(BIN / "sonet-pipeline"), "worker", "--concurrency", "2", "--name", name]
        self.process = subprocess.Popen(
            host.command(command) if host else command,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        broker, backend = settings.broker_url(), settings.result_backend()
        assert broker is not None and backend is not None
        app, deadline = celery_app(broker, backend), time.monotonic() + timeout
        while not app.control.ping(destination=[self.node], timeout=1.0):
            assert self.process.poll() is None, f"the worker exited with {self.process.returncode}: {self.tail()}"
            if time.monotonic() > deadline:
                pytest.fail(f"worker {self.node} did not answer within {timeout} s: {self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def children(self) -> set[int]:
        """The pids of the worker's pool processes (each executes steps)."""
        text = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        return {int(pid) for pid in text.split()}

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def execute(job: str, tags: dict[str, str]) -> int:
    """`dagster job execute` of `job` from the code location's module, as a process of its own (the run's
    orchestrator, as the daemon's run launcher starts one); its pid."""
    command = [str(BIN / "dagster"), "job", "execute", "-m", "sonet_pipeline.definitions", "-j", job]
    process = subprocess.Popen([*command, "--tags", json.dumps(tags)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output.decode()[-3000:]
    return process.pid


def steps_of(instance: DagsterInstance, job: str) -> tuple[DagsterRun, dict[str, str], dict[str, int]]:
    """The job's one run, the worker that took each step (its engine event) and the pid of each STEP_START."""
    (run,) = instance.get_runs(filters=RunsFilter(job_name=job))
    events = [e for e in instance.all_logs(run.run_id) if e.dagster_event is not None]
    handed = {
        e.step_key: e.dagster_event.engine_event_data.metadata["Celery worker"].value
        for e in events
        if e.dagster_event.event_type == DagsterEventType.ENGINE_EVENT and "in celery worker" in e.message
    }
    started = {
        e.step_key: e.dagster_event.pid for e in events if e.dagster_event.event_type == DagsterEventType.STEP_START
    }
    return run, handed, started


def test_sync_and_send_runs_execute_each_tenants_step_on_a_worker(
    two_companies, tmp_path, monkeypatch, postgres_database, redis_db
):
    """A sync run and then a send run of two tenants, each started through the production instance with the
    broker set, execute one step per tenant in the worker's pool processes, not in the run's process (which
    only orchestrates, and tags the run with itself for liveness). Both tenants' stores equal the stand-in;
    the order enqueued is in Sonet once."""
    configure(two_companies, tmp_path, monkeypatch, postgres_database, redis_db)
    instance = prepare_instance()  # the production dagster.yaml and Dagster's tables, once, before the others
    order = {**EXAMPLE, "orderNumber": "WEB-WORKER-1"}
    with open_outbox(postgres_database) as outbox:
        (enqueued,) = outbox.enqueue_many("acme", [order], actor="test", now=two_companies.clock.now())
    worker = Worker(f"test-{uuid.uuid4().hex[:6]}", tmp_path / "worker.log")
    try:
        worker.wait_ready()
        orchestrators = {
            SYNC_JOB: execute(SYNC_JOB, {"dagster/partition": partition_key_for(datetime.now(UTC))}),
            SEND_JOB: execute(SEND_JOB, {}),
        }
        pool = worker.children()
    except AssertionError as failed:
        raise AssertionError(f"{failed}\nworker log: {worker.tail()}") from None
    finally:
        worker.stop()

    for job, step_name in ((SYNC_JOB, sync_op_name), (SEND_JOB, send_op_name)):
        run, handed, started = steps_of(instance, job)
        assert run.status == DagsterRunStatus.SUCCESS
        assert run.tags[PID_TAG] == str(orchestrators[job]), "the run is watched through its orchestrating process"
        steps = {step_name(tenant) for tenant in COMPANIES}
        assert handed == dict.fromkeys(steps, worker.node)
        assert set(started) == steps
        assert set(started.values()) <= pool, f"{job}: steps ran in {started}, the worker's pool is {pool}"
    assert differences(two_companies) == {}
    with open_outbox(postgres_database) as outbox:
        assert outbox.get(enqueued.message_id).state == SENT
    assert [o["messageId"] for o in two_companies.admin_json("GET", "/companies/01/orders")] == [enqueued.message_id]


def test_over_rabbitmq_a_sync_run_executes_each_tenants_step_on_a_worker(
    two_companies, tmp_path, monkeypatch, postgres_database, rabbitmq_vhost
):
    """The same with RabbitMQ as the broker and `rpc://` results (the default beside AMQP): each tenant's sync
    step executes in the worker's pool and both stores equal the stand-in."""
    configure(two_companies, tmp_path, monkeypatch, postgres_database, rabbitmq_vhost)
    assert settings.result_backend() == "rpc://"
    instance = prepare_instance()
    worker = Worker(f"test-{uuid.uuid4().hex[:6]}", tmp_path / "worker.log")
    try:
        worker.wait_ready()
        orchestrator = execute(SYNC_JOB, {"dagster/partition": partition_key_for(datetime.now(UTC))})
        pool = worker.children()
    except AssertionError as failed:
        raise AssertionError(f"{failed}\nworker log: {worker.tail()}") from None
    finally:
        worker.stop()
    run, handed, started = steps_of(instance, SYNC_JOB)
    assert run.status == DagsterRunStatus.SUCCESS and run.tags[PID_TAG] == str(orchestrator)
    steps = {sync_op_name(tenant) for tenant in COMPANIES}
    assert handed == dict.fromkeys(steps, worker.node)
    assert set(started) == steps and set(started.values()) <= pool
    assert differences(two_companies) == {}
