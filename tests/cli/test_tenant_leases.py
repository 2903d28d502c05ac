"""`sync` and `send` for a tenant another run is working on: real `sonet-pipeline` processes against the
stand-in (slowed, so that they overlap) wait for the tenant and both succeed one after the other, or,
past `--wait`, start nothing and say who holds the tenant (exit 1); never a traceback or a lock error.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance, DagsterRunStatus

from sonet_pipeline.assets.inbound import inbound_key, partition_key_for
from sonet_pipeline.assets.inbound_checks import check_keys
from sonet_pipeline.cli.runs.sync import run_sync
from sonet_pipeline.cli.runs.tenant_leases import TenantBusy, tenants_held
from sonet_pipeline.common.clock import SystemClock
from sonet_pipeline.common.leases import FileLease, held, open_lease
from sonet_pipeline.config import settings
from sonet_pipeline.config.tenants import Tenant, load_tenants
from sonet_pipeline.contract import read_text
from sonet_pipeline.definitions import build_definitions
from sonet_pipeline.jobs.cli_runs import execute_job, prepare_instance
from sonet_pipeline.jobs.sync import SYNC_JOB
from sonet_pipeline.outbox import SENT, open_outbox
from sonet_pipeline.sonet.entities import SYNCED
from tests.conftest import require_postgres
from tests.standin.standin_http import SonetClient, wait_until
from tests.tenants_file import write_acme_tenant

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "sonet_pipeline.cli"]
EXAMPLE = json.loads(read_text("examples/commerce-order-b2b.json"))
#: What a lock conflict or a crash would print; none of it may reach the operator.
NEVER_SHOWN = ("traceback", "duckdb", "database is locked", "could not set lock", "leaseheld")


@pytest.fixture
def tenant_env(sonet: SonetClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """One tenant on the stand-in; the environment of a `sonet-pipeline` process on the test's data dir."""
    write_acme_tenant(sonet, tmp_path, monkeypatch, limits="message_limits: {rate: 50, burst: 50, in_flight: 4}")
    return dict(os.environ)


def start(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, *args, "--tenant", "acme", "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, dict[str, Any], str]:
    """Exit code, the JSON document on stdout, stderr; stderr shows no crash and no lock error."""
    out, err = process.communicate(timeout=300)
    shown = [text for text in NEVER_SHOWN if text in err.lower()]
    assert not shown, f"stderr shows {shown}:\n{err[-3000:]}"
    return process.returncode, json.loads(out), err


def slow(sonet: SonetClient, seconds: float) -> None:
    """Every Sonet answer takes `seconds` more (real time), so that runs started together overlap."""
    sonet.admin_json("POST", "/faults", json={"slow_share": 1.0, "slow_seconds": seconds})


def assert_one_after_the_other(instance: DagsterInstance, run_ids: list[str]) -> None:
    """The runs succeeded and none started before the one before it ended."""
    stats = sorted((instance.get_run_stats(run_id) for run_id in run_ids), key=lambda s: s.start_time or 0)
    for run_id in run_ids:
        run = instance.get_run_by_id(run_id)
        assert run is not None and run.status == DagsterRunStatus.SUCCESS
    for before, after in itertools.pairwise(stats):
        assert before.end_time is not None and after.start_time is not None
        assert before.end_time <= after.start_time


def test_two_syncs_of_one_tenant_at_once_run_one_after_the_other(sonet, tenant_env):
    slow(sonet, 0.3)
    first, second = start(tenant_env, "sync"), start(tenant_env, "sync")
    results = [finish(first), finish(second)]

    assert [code for code, _, _ in results] == [0, 0]
    # The one that ran first read everything (its items materialized); the other, after it, read a delta
    # that changed nothing: no entity materialized, only the tenant's sync observation.
    initial, delta = sorted((summary for _, summary, _ in results), key=lambda s: "items" not in s["tenants"]["acme"])
    assert initial["tenants"]["acme"]["items"]["window"].startswith("initial")
    assert "items" not in delta["tenants"]["acme"] and delta["tenants"]["acme"]["sync"]["entities_changed"] == 0
    assert_one_after_the_other(prepare_instance(), [initial["run_id"], delta["run_id"]])
    dump = subprocess.run(
        [*CLI, "store", "dump", "--tenant", "acme", "--entity", "items"],
        env=tenant_env,
        capture_output=True,
        text=True,
        check=True,
    )
    stored = {json.loads(line)["itemCode"] for line in dump.stdout.splitlines()}
    assert stored == {item["itemCode"] for item in sonet.state("items")}


def test_two_sends_at_once_send_every_order_once(sonet, tenant_env):
    tenants = load_tenants()
    assert run_sync(build_definitions(tenants), prepare_instance(), tenants).success  # the catalogue
    numbers = [f"WEB-TWICE-{n}" for n in range(6)]
    with open_outbox() as outbox:
        orders = [{**copy.deepcopy(EXAMPLE), "orderNumber": number} for number in numbers]
        ids = [found.message_id for found in outbox.enqueue_many("acme", orders, actor="test", now=datetime.now(UTC))]
    slow(sonet, 1.0)

    first, second = start(tenant_env, "send"), start(tenant_env, "send")
    results = [finish(first), finish(second)]

    assert [code for code, _, _ in results] == [0, 0]
    delivered = [summary["tenants"].get("acme", {}).get("messages_delivered", {}) for _, summary, _ in results]
    assert sum(figures.get("sent", 0) for figures in delivered) == len(ids)
    assert sorted(o["messageId"] for o in sonet.admin_json("GET", "/companies/01/orders")) == sorted(ids)
    with open_outbox() as outbox:
        assert {outbox.get(message_id).state for message_id in ids} == {SENT}
    assert_one_after_the_other(prepare_instance(), [summary["run_id"] for _, summary, _ in results])


class GatedClock(SystemClock):
    """The system's time, but the sync run's first reading waits for `gate`: the run holds its tenant
    (it reads the time just after taking the lease) until the test opens the gate."""

    def __init__(self) -> None:
        self.gate = threading.Event()

    def now(self) -> datetime:
        if threading.current_thread().name == "daemon-sync":
            assert self.gate.wait(timeout=300), "the test never opened the gate"
        return super().now()


@pytest.fixture
def daemon_sync(tenant_env) -> Iterator[tuple[GatedClock, threading.Thread, list[Any]]]:
    """A Dagster run of the sync job taking the tenant's lease itself, as the daemon's runs do, in a thread
    of the test: it holds the tenant until the gate opens."""
    clock, results = GatedClock(), []
    tenants = load_tenants()
    defs, instance = build_definitions(tenants, clock=clock), prepare_instance()

    def run() -> None:
        results.append(
            execute_job(
                defs.resolve_job_def(SYNC_JOB),
                instance,
                partition_key=partition_key_for(datetime.now(UTC)),
                asset_selection=[inbound_key(t.name, name) for t in tenants for name in SYNCED],
                asset_check_selection=[key for t in tenants for key in check_keys(t.name)],
            )
        )

    thread = threading.Thread(target=run, name="daemon-sync")
    thread.start()
    try:
        yield clock, thread, results
    finally:
        clock.gate.set()
        thread.join(timeout=300)


def test_a_sync_while_the_daemons_sync_holds_the_tenant_waits_or_says_it_is_busy(daemon_sync, tenant_env):
    clock, thread, results = daemon_sync
    lease = FileLease(settings.locks_dir(), "store-acme")
    wait_until(lambda: lease.holder() is not None, timeout=60, what="the daemon's sync holds the tenant")
    holder = lease.holder()
    assert holder is not None and holder.owner.startswith("sync run ")
    daemon_run = holder.owner.removeprefix("sync run ")

    patient = start(tenant_env, "sync", "--wait", "300")
    impatient = start(tenant_env, "sync", "--wait", "1")
    code, summary, err = finish(impatient)

    assert code == 1
    message = f"tenant acme is busy: its store is held by sync run {daemon_run} (pid {os.getpid()} on host"
    assert message in err and "; waited 1 s" in err
    assert summary["run_id"] is None and summary["busy"] == "acme" and message in summary["failures"][0]
    assert thread.is_alive() and patient.poll() is None  # still held: the patient one is still waiting

    clock.gate.set()
    thread.join(timeout=120)
    assert results and results[0].success
    code, summary, _ = finish(patient)
    assert code == 0 and summary["run_id"] is not None  # a delta after the daemon's run: nothing changed
    assert summary["tenants"]["acme"]["sync"]["entities_changed"] == 0 and "items" not in summary["tenants"]["acme"]
    instance = prepare_instance()
    assert_one_after_the_other(instance, [daemon_run, summary["run_id"]])
    assert len(instance.get_runs()) == 2  # the busy command started no run


@pytest.mark.parametrize("backend", ["file", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_busy_names_the_tenant_who_holds_it_and_since_when(backend, monkeypatch):
    """In either lease backend: another holder past the wait is `TenantBusy` naming it; a free tenant is
    held for the run under the run's name and given back after."""
    if backend == "postgres":
        monkeypatch.setenv(settings.POSTGRES_DSN_ENV, require_postgres())
    unique = uuid.uuid4().hex[:8]  # advisory locks are server-wide: names no other test uses
    tenants = [tenant_named(f"free{unique}"), tenant_named(f"busy{unique}")]
    busy = tenants[1].name
    other = open_lease(f"store-{busy}", postgres_dsn=settings.postgres_dsn(), locks_dir=settings.locks_dir())
    with held(other, "sync run 1f3a"):
        with pytest.raises(TenantBusy) as refused, tenants_held("sync", tenants, "2b4c", wait_seconds=0.3):
            pass
        assert refused.value.tenant == busy
        assert str(refused.value).startswith(f"tenant {busy} is busy: its store is held by sync run 1f3a (pid ")
        assert str(refused.value).endswith("; waited 0.3 s")
    with tenants_held("send", tenants, "2b4c", wait_seconds=0):
        holder = open_lease(
            f"send-{busy}", postgres_dsn=settings.postgres_dsn(), locks_dir=settings.locks_dir()
        ).holder()
        assert holder is not None and holder.is_here("send run 2b4c")
    assert other.holder() is None


def tenant_named(name: str) -> Tenant:
    return Tenant.model_validate(
        {"name": name, "sonet": {"base_url": "http://127.0.0.1:9", "company": "01", "token_env": "T"}}
    )
