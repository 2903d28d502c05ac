"""The order sensor asks for one send run for every tenant with due messages, at each tenant's cadence;
the resend job puts failed messages back from the UI."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import RunRequest, SkipReason, build_sensor_context

from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.config.tenants import load_tenants
from sonet_pipeline.contract import read_text
from sonet_pipeline.definitions import build_definitions
from sonet_pipeline.jobs.cli_runs import execute_job, prepare_instance
from sonet_pipeline.jobs.send import RESEND_JOB
from sonet_pipeline.outbox import FAILED, PENDING, open_outbox
from sonet_pipeline.resources.outbox import OutboxResource

TENANTS = """
tenants:
  - {name: fast, send_every_seconds: 10, sonet: {base_url: "http://127.0.0.1:9", company: "01", token_env: T1}}
  - {name: slow, send_every_seconds: 60, sonet: {base_url: "http://127.0.0.1:9", company: "02", token_env: T2}}
"""
NOW = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)


@pytest.fixture
def setup(tmp_path: Path, monkeypatch):
    path = tmp_path / "tenants.yaml"
    path.write_text(TENANTS)
    monkeypatch.setenv("T1", "x")
    monkeypatch.setenv("T2", "y")
    clock = ManualClock(NOW)
    return build_definitions(load_tenants(path), clock=clock), clock


def order(number: str) -> dict:
    result = copy.deepcopy(json.loads(read_text("examples/commerce-order-b2b.json")))
    result["orderNumber"] = number
    return result


def tick(defs, clock, cursor=None) -> tuple[RunRequest | SkipReason, str | None]:
    sensor = defs.resolve_sensor_def("sonet_order_sensor")
    context = build_sensor_context(
        instance=prepare_instance(), cursor=cursor, resources={"outbox": OutboxResource(), "clock": clock}
    )
    return sensor(context), context.cursor


def test_one_run_for_the_tenants_with_due_messages_then_each_waits_its_cadence(setup):
    """Due messages for both tenants: one run for both; 10 s later only the 10-second tenant is asked for."""
    defs, clock = setup
    outbox = open_outbox()
    outbox.enqueue("fast", order("F-1"), actor="test", now=NOW)
    outbox.enqueue("slow", order("S-1"), actor="test", now=NOW)
    request, cursor = tick(defs, clock)
    assert isinstance(request, RunRequest)
    assert {key.path[0] for key in request.asset_selection} == {"fast", "slow"}
    assert request.run_key and request.tags["sonet/flow"] == "send"
    clock.advance(10)
    request, cursor = tick(defs, clock, cursor)
    assert isinstance(request, RunRequest) and {key.path[0] for key in request.asset_selection} == {"fast"}
    answer, _ = tick(defs, clock, cursor)
    assert isinstance(answer, SkipReason) and "cadence" in (answer.skip_message or "")


def test_nothing_due_is_a_skip(setup):
    """An empty outbox asks for no run."""
    defs, clock = setup
    answer, _ = tick(defs, clock)
    assert isinstance(answer, SkipReason) and "no tenant has due messages" in (answer.skip_message or "")


def test_resend_job_puts_failed_messages_back_to_pending(setup):
    """The UI's resend job, configured with an error code, moves those failed messages to pending."""
    defs, _clock = setup
    outbox = open_outbox()
    mid = outbox.enqueue("fast", order("F-9"), actor="test", now=NOW).message_id
    outbox.claim("fast", now=NOW, limit=1, owner="run", claim_seconds=60)
    outbox.mark_failed(mid, code="UNKNOWN_ITEM", message="no such item", actor="run", now=NOW)
    config = {"ops": {"resend_failed_messages": {"config": {"failed_with": "UNKNOWN_ITEM"}}}}
    result = execute_job(defs.resolve_job_def(RESEND_JOB), prepare_instance(), run_config=config)
    assert result.success and outbox.get(mid).state == PENDING
    assert any("resend run" in event.actor for event in outbox.events(mid))
    assert FAILED not in {m.state for m in outbox.list(tenant="fast")}
