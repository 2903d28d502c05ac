"""The sync's schedules: one run a minute for every due tenant, none while a sync is in progress."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import (
    DagsterEvent,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    RunRequest,
    SkipReason,
    build_schedule_context,
)

from sonet_pipeline.common.process_tags import HOST_TAG, PID_TAG
from sonet_pipeline.config.tenants import load_tenants
from sonet_pipeline.definitions import build_definitions
from sonet_pipeline.jobs.cli_runs import prepare_instance
from sonet_pipeline.jobs.sync import MINUTE_SYNC_JOB, SYNC_JOB

TENANTS = """
tenants:
  - {name: every_minute, sync_every_seconds: 60, sonet: {base_url: "http://127.0.0.1:9", company: "01", token_env: T1}}
  - {name: every_third, sync_every_seconds: 180, sonet: {base_url: "http://127.0.0.1:9", company: "02", token_env: T2}}
"""


@pytest.fixture
def defs(tmp_path: Path, monkeypatch):
    path = tmp_path / "tenants.yaml"
    path.write_text(TENANTS)
    monkeypatch.setenv("T1", "x")
    monkeypatch.setenv("T2", "y")
    return build_definitions(load_tenants(path))


def evaluate(defs, name: str, tick: datetime, instance: DagsterInstance) -> list[RunRequest] | SkipReason:
    """The schedule's answer for the tick: its run requests, or its reason to skip."""
    schedule = defs.resolve_schedule_def(name)
    answer = schedule(build_schedule_context(instance=instance, scheduled_execution_time=tick))
    return answer if isinstance(answer, SkipReason) else [answer]


def start_run(defs, instance: DagsterInstance, pid: int, host: str) -> str:
    """A sync run shown as STARTED, executed (so its tags say) by process `pid` on `host`."""
    run = instance.create_run_for_job(defs.resolve_job_def(SYNC_JOB), tags={PID_TAG: str(pid), HOST_TAG: host})
    instance.report_engine_event("started elsewhere", run)  # a run's start, as the executor reports it
    instance.handle_run_event(run.run_id, DagsterEvent(DagsterEventType.RUN_START.value, job_name=run.job_name))
    return run.run_id


def due_by_step(request: RunRequest) -> dict[str, list[str]]:
    return {step: op["config"]["tenants"] for step, op in request.run_config["ops"].items()}


def test_one_run_per_minute_for_all_due_tenants(defs):
    """At minute 0 both tenants are due (one run, a step per tenant by default); at minute 1 only the
    every-minute one (the other's step has nothing to do)."""
    instance = prepare_instance()
    [request] = evaluate(defs, "sonet_sync_every_minute", datetime(2026, 11, 28, 7, 0, tzinfo=UTC), instance)
    assert request.tags["sonet/flow"] == "sync"
    assert not request.asset_selection and not request.asset_check_keys  # the minute job's steps are ops
    assert due_by_step(request) == {"sonet_sync_shard_000": ["every_minute"], "sonet_sync_shard_001": ["every_third"]}
    [request] = evaluate(defs, "sonet_sync_every_minute", datetime(2026, 11, 28, 7, 1, tzinfo=UTC), instance)
    assert due_by_step(request) == {"sonet_sync_shard_000": ["every_minute"], "sonet_sync_shard_001": []}


def test_a_shard_size_groups_the_tenants_into_one_step(tmp_path: Path, monkeypatch):
    """`SONET_PIPELINE_SYNC_SHARD_SIZE=2`: both tenants in one step of the minute job."""
    monkeypatch.setenv("SONET_PIPELINE_SYNC_SHARD_SIZE", "2")
    path = tmp_path / "tenants.yaml"
    path.write_text(TENANTS)
    defs = build_definitions(load_tenants(path))
    assert [node.name for node in defs.resolve_job_def(MINUTE_SYNC_JOB).nodes] == ["sonet_sync_shard_000"]
    [request] = evaluate(defs, "sonet_sync_every_minute", datetime(2026, 11, 28, 7, 0, tzinfo=UTC), prepare_instance())
    assert due_by_step(request) == {"sonet_sync_shard_000": ["every_minute", "every_third"]}


def test_a_tick_is_skipped_while_a_live_sync_run_is_in_progress(defs):
    """A live sync run in progress covers this minute's work: the tick is skipped, naming the run."""
    instance = prepare_instance()
    run_id = start_run(defs, instance, os.getpid(), socket.gethostname())
    answer = evaluate(defs, "sonet_sync_every_minute", datetime(2026, 11, 28, 7, 0, tzinfo=UTC), instance)
    assert isinstance(answer, SkipReason) and run_id in (answer.skip_message or "")


def test_a_dead_sync_run_is_failed_and_does_not_block_the_next_tick(defs):
    """A run shown as started whose process is gone is marked failed, and the tick asks for a new run."""
    instance = prepare_instance()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    run_id = start_run(defs, instance, gone.pid, socket.gethostname())
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.STARTED
    [request] = evaluate(defs, "sonet_sync_every_minute", datetime(2026, 11, 28, 7, 0, tzinfo=UTC), instance)
    assert isinstance(request, RunRequest)
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.FAILURE


def test_nightly_full_read_covers_every_tenant(defs):
    """The nightly run asks every tenant's step for a full read."""
    tick = datetime(2026, 11, 28, 2, 30, tzinfo=UTC)
    [request] = evaluate(defs, "sonet_sync_nightly_full", tick, prepare_instance())
    ops = request.run_config["ops"]
    assert {name: op["config"]["full"] for name, op in ops.items()} == {
        "every_minute__sonet_sync": True,
        "every_third__sonet_sync": True,
    }


def test_no_tenant_due_skips(tmp_path, monkeypatch):
    """With only a three-minute tenant, a minute that is not its turn is skipped with the reason."""
    path = tmp_path / "t.yaml"
    path.write_text("tenants:\n" + TENANTS.splitlines()[3] + "\n")
    monkeypatch.setenv("T2", "y")
    defs = build_definitions(load_tenants(path))
    answer = evaluate(defs, "sonet_sync_every_minute", datetime(2026, 11, 28, 7, 1, tzinfo=UTC), prepare_instance())
    assert isinstance(answer, SkipReason) and "no tenant is due" in (answer.skip_message or "")
