"""The retention schedule: one retention run a day at the configured time, none while one is in progress."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import (
    DagsterEvent,
    DagsterEventType,
    DagsterInstance,
    RunRequest,
    SkipReason,
    build_schedule_context,
)

from sonet_pipeline.common.process_tags import HOST_TAG, PID_TAG
from sonet_pipeline.config.retention import RetentionConfigError
from sonet_pipeline.config.tenants import load_tenants
from sonet_pipeline.definitions import build_definitions
from sonet_pipeline.jobs.cli_runs import prepare_instance
from sonet_pipeline.jobs.retention import RETENTION_JOB
from sonet_pipeline.sensors.retention_schedule import RETENTION_SCHEDULE

TICK = datetime(2026, 11, 29, 3, 15, tzinfo=UTC)


@pytest.fixture
def tenants(tmp_path: Path, monkeypatch):
    path = tmp_path / "tenants.yaml"
    path.write_text(
        'tenants:\n  - {name: acme, sonet: {base_url: "http://127.0.0.1:9", company: "01", token_env: T1}}\n'
    )
    monkeypatch.setenv("T1", "x")
    return load_tenants(path)


def evaluate(defs, instance: DagsterInstance) -> RunRequest | SkipReason:
    schedule = defs.resolve_schedule_def(RETENTION_SCHEDULE)
    return schedule(build_schedule_context(instance=instance, scheduled_execution_time=TICK))


def test_a_tick_asks_for_one_retention_run_daily_by_default(tenants):
    """Daily at 03:15 UTC (after the nightly full sync), one run of the retention job in its own flow."""
    defs = build_definitions(tenants)
    schedule = defs.resolve_schedule_def(RETENTION_SCHEDULE)
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("15 3 * * *", "UTC")
    assert schedule.job_name == RETENTION_JOB
    request = evaluate(defs, prepare_instance())
    assert isinstance(request, RunRequest) and request.tags == {"sonet/flow": "retention"}


def test_the_time_is_a_deployment_setting(tenants, monkeypatch):
    """`SONET_PIPELINE_RETENTION_CRON` moves the schedule; a value that is no cron schedule is a
    configuration error naming the variable."""
    monkeypatch.setenv("SONET_PIPELINE_RETENTION_CRON", "0 * * * *")
    assert build_definitions(tenants).resolve_schedule_def(RETENTION_SCHEDULE).cron_schedule == "0 * * * *"
    monkeypatch.setenv("SONET_PIPELINE_RETENTION_CRON", "daily")
    with pytest.raises(RetentionConfigError, match="SONET_PIPELINE_RETENTION_CRON"):
        build_definitions(tenants)


def test_a_tick_is_skipped_while_a_live_retention_run_is_in_progress(tenants):
    """A retention run still working (its process alive) is named in the skip; once it is gone, the
    next tick asks again."""
    defs = build_definitions(tenants)
    instance = prepare_instance()
    run = instance.create_run_for_job(
        defs.resolve_job_def(RETENTION_JOB), tags={PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}
    )
    instance.handle_run_event(run.run_id, DagsterEvent(DagsterEventType.RUN_START.value, job_name=run.job_name))
    answer = evaluate(defs, instance)
    assert isinstance(answer, SkipReason) and run.run_id in (answer.skip_message or "")
    instance.report_run_failed(instance.get_run_by_id(run.run_id), "stopped")
    assert isinstance(evaluate(defs, instance), RunRequest)
