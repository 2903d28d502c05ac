"""Which executor the jobs get: in process unless a broker is set, then dagster-celery's on it."""

from __future__ import annotations

import pytest
from dagster import in_process_executor

from sonet_pipeline.config import settings
from sonet_pipeline.config.tenants import load_tenants
from sonet_pipeline.definitions import build_definitions
from sonet_pipeline.jobs.executor import VISIBILITY_MARGIN, celery_app, celery_settings, step_executor
from sonet_pipeline.jobs.send import SEND_JOB
from sonet_pipeline.jobs.shop import SHOP_JOB
from sonet_pipeline.jobs.sync import MINUTE_SYNC_JOB, SYNC_JOB


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    monkeypatch.delenv(settings.BROKER_URL_ENV, raising=False)
    monkeypatch.delenv(settings.RESULT_BACKEND_ENV, raising=False)


def test_without_a_broker_every_job_runs_its_steps_in_process():
    defs = build_definitions(load_tenants())
    for job in (MINUTE_SYNC_JOB, SYNC_JOB, SEND_JOB, SHOP_JOB):
        assert defs.resolve_job_def(job).executor_def is in_process_executor


def test_with_a_broker_the_sync_send_and_shop_steps_go_to_celery_workers(monkeypatch):
    monkeypatch.setenv(settings.BROKER_URL_ENV, "redis://127.0.0.1:6379/0")
    defs = build_definitions(load_tenants())
    for job in (MINUTE_SYNC_JOB, SYNC_JOB, SEND_JOB, SHOP_JOB):
        assert defs.resolve_job_def(job).executor_def.name == "sonet_celery"


def test_a_wrong_broker_fails_the_code_location_naming_the_variable(monkeypatch):
    monkeypatch.setenv(settings.BROKER_URL_ENV, "http://127.0.0.1:6379")
    with pytest.raises(ValueError, match=settings.BROKER_URL_ENV):
        step_executor()


def test_the_workers_app_takes_the_step_task_on_dagster_celerys_queue():
    app = celery_app("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0")
    assert "execute_plan" in app.tasks
    assert [queue.name for queue in app.conf.task_queues] == ["dagster"]
    assert app.conf.broker_url == "redis://127.0.0.1:6379/0"
    assert app.conf.worker_prefetch_multiplier == 1


def test_a_step_is_acknowledged_when_done_and_stopped_before_another_worker_may_take_it(monkeypatch):
    """A worker that dies mid-step leaves the step's message unacknowledged, so the broker hands it to
    another worker; the time limit stops a step before Redis would hand out its message a second time."""
    monkeypatch.setenv(settings.STEP_TIME_LIMIT_ENV, "120")
    app = celery_app("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0")
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.task_acks_on_failure_or_timeout  # a step stopped at its limit fails, and is not redone
    assert app.conf.task_time_limit == 120
    assert app.conf.broker_transport_options["visibility_timeout"] == 120 + VISIBILITY_MARGIN
    monkeypatch.setenv(settings.BROKER_URL_ENV, "redis://127.0.0.1:6379/0")
    orchestrators = step_executor().apply_config_mapping({})  # the runs submit steps with the same settings
    assert orchestrators.success and orchestrators.value["config"]["config_source"] == celery_settings()


def test_the_step_time_limit_is_checked(monkeypatch):
    monkeypatch.setenv(settings.STEP_TIME_LIMIT_ENV, "ten")
    with pytest.raises(ValueError, match=settings.STEP_TIME_LIMIT_ENV):
        celery_app("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0")
