"""Alerts on failed runs: refused credentials and other failures are one message per incident, however
many runs fail alike; the incident is over when the tenant syncs (or the job succeeds) again, which the
alert sensor announces once, and the next failure is a new incident."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from dagster import (
    AssetObservation,
    DagsterInstance,
    Failure,
    build_run_status_sensor_context,
    build_sensor_context,
    job,
    op,
)

from sonet_pipeline.alerts.alert import Alert
from sonet_pipeline.assets.tenant_sync import sync_status_key
from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.config.tenants import load_tenants
from sonet_pipeline.contract import read_text
from sonet_pipeline.definitions import build_definitions
from sonet_pipeline.jobs.send import SEND_JOB
from sonet_pipeline.jobs.sync import MINUTE_SYNC_JOB
from sonet_pipeline.outbox import open_outbox
from sonet_pipeline.resources.alerts import AlertsResource
from sonet_pipeline.resources.outbox import OutboxResource
from sonet_pipeline.sensors.run_failure_alerts import incidents_of_run
from tests.alerts.receivers import webhook_receiver
from tests.tenants_file import write_acme_tenant

REFUSED = "tenant 'acme': Sonet refused the token (UNAUTHENTICATED): check the tenant's credentials"
AT = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)


@op(name="acme__send_orders", config_schema={"why": str})
def acme_send(context) -> None:
    if context.op_config["why"]:
        raise Failure(description=context.op_config["why"], allow_retries=False)


@job(name="sonet_send")
def send_job() -> None:
    acme_send()


@pytest.fixture
def world(tmp_path, monkeypatch):
    monkeypatch.setenv("T1", "x")
    path = tmp_path / "tenants.yaml"
    with webhook_receiver() as (url, received):
        path.write_text(
            "tenants:\n"
            '  - {name: acme, sonet: {base_url: "http://127.0.0.1:9", company: "01", token_env: T1},\n'
            f"     alerts: {{webhook: {url}/acme}}}}\n"
        )
        clock = ManualClock(datetime.now(UTC))  # the instance stamps runs and observations with real time
        defs = build_definitions(load_tenants(path), clock=clock)
        yield defs, clock, DagsterInstance.ephemeral(), received


def run_send(instance: DagsterInstance, why: str):
    return send_job.execute_in_process(
        instance=instance, raise_on_error=False, run_config={"ops": {"acme__send_orders": {"config": {"why": why}}}}
    )


def on_failure(defs, clock, instance, result) -> None:
    sensor = defs.resolve_sensor_def("sonet_run_failure_alerts")
    context = build_run_status_sensor_context(
        sensor_name="sonet_run_failure_alerts",
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources={"alerts": AlertsResource(), "clock": clock},
    )
    with context:
        sensor(context.for_run_failure())


def alert_tick(defs, clock, instance, cursor: str | None) -> str | None:
    sensor = defs.resolve_sensor_def("sonet_alert_sensor")
    resources = {"alerts": AlertsResource(), "outbox": OutboxResource(), "clock": clock}
    with build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        sensor(context)
        return context.cursor


def test_refused_credentials_are_one_message_until_the_tenant_syncs_again(world):
    """Three send runs fail with Sonet's 401: one `credentials_refused` message. The tenant's next sync
    ends it: one clear (from the alert sensor, once); a refusal after that is a new message."""
    defs, clock, instance, received = world
    for _ in range(3):
        on_failure(defs, clock, instance, run_send(instance, REFUSED))
        clock.advance(60)
    bodies = [body for _, _, body in received.items]
    assert [(b["kind"], b["state"], b["tenant"]) for b in bodies] == [("credentials_refused", "open", "acme")]
    assert bodies[0]["details"]["job"] == "sonet_send" and "UNAUTHENTICATED" in bodies[0]["details"]["error"]
    cursor = alert_tick(defs, clock, instance, None)
    assert len(received.items) == 1  # still refused: nothing to clear
    instance.report_runless_asset_event(AssetObservation(sync_status_key("acme")))  # a successful sync
    cursor = alert_tick(defs, clock, instance, cursor)
    cursor = alert_tick(defs, clock, instance, cursor)
    assert [b["state"] for _, _, b in received.items] == ["open", "cleared"]
    clock.advance(60)
    on_failure(defs, clock, instance, run_send(instance, REFUSED))
    assert [b["state"] for _, _, b in received.items] == ["open", "cleared", "open"]


def test_a_failing_job_is_one_incident_until_it_succeeds(world):
    """Other failures are `run_failed` of the job and the step's tenant; a success ends the incident."""
    defs, clock, instance, received = world
    on_failure(defs, clock, instance, run_send(instance, "the outbox is unreachable"))
    on_failure(defs, clock, instance, run_send(instance, "the outbox is unreachable"))
    assert [(b["kind"], b["key"]) for _, _, b in received.items] == [("run_failed", "run_failed:sonet_send:acme")]
    assert run_send(instance, "").success
    alert_tick(defs, clock, instance, None)
    clock.advance(60)
    on_failure(defs, clock, instance, run_send(instance, "the outbox is unreachable"))
    assert [b["state"] for _, _, b in received.items] == ["open", "cleared", "open"]


def test_an_alert_no_channel_took_is_sent_again_by_the_alert_sensor(world):
    """Dagster evaluates a failed run once: when the webhook refuses the alert, the tick fails (shown in
    the UI) and the incident is kept as undelivered; the alert sensor sends it once the webhook takes it,
    and only once; the next failed run of the same incident sends nothing."""
    defs, clock, instance, received = world
    received.status = 503
    with pytest.raises(Exception, match="not delivered to any channel"):
        on_failure(defs, clock, instance, run_send(instance, REFUSED))
    cursor = alert_tick(defs, clock, instance, None)  # still refused by the webhook: kept for the next tick
    assert received.items == []
    received.status = 204
    cursor = alert_tick(defs, clock, instance, cursor)
    cursor = alert_tick(defs, clock, instance, cursor)
    on_failure(defs, clock, instance, run_send(instance, REFUSED))
    assert [(b["kind"], b["state"]) for _, _, b in received.items] == [("credentials_refused", "open")]


@pytest.fixture
def refused_acme(sonet, tmp_path, monkeypatch):
    """acme against the stand-in with a wrong token, its alerts to a webhook: (defs, clock, instance, received)."""
    with webhook_receiver() as (url, received):
        write_acme_tenant(sonet, tmp_path, monkeypatch, extra=f"    alerts: {{webhook: {url}/acme}}\n")
        monkeypatch.setenv("ACME_T", "not-the-token")
        clock = ManualClock(datetime.now(UTC))
        defs = build_definitions(load_tenants(), clock=clock)
        yield defs, clock, DagsterInstance.ephemeral(), received


@pytest.mark.slow
def test_the_minute_sync_refused_by_sonet_is_a_credentials_alert(refused_acme):
    """The real path: the minute sync against the stand-in with a wrong token fails its shard's step
    with Sonet's 401; the run-failure sensor reads it as `credentials_refused` of that tenant, once."""
    defs, clock, instance, received = refused_acme
    job = defs.resolve_job_def(MINUTE_SYNC_JOB)
    for _ in range(2):
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        on_failure(defs, clock, instance, result)
    bodies = [body for _, _, body in received.items]
    assert [(b["kind"], b["key"]) for b in bodies] == [("credentials_refused", "credentials_refused:acme")]
    assert "UNAUTHENTICATED" in bodies[0]["details"]["error"] and "not-the-token" not in json.dumps(bodies)


@pytest.mark.slow
def test_a_send_refused_by_sonet_is_the_same_credentials_incident(refused_acme):
    """The send run's 401 from the Message API and the minute sync's from the Query API are one incident."""
    defs, clock, instance, received = refused_acme
    outbox = open_outbox()
    outbox.enqueue("acme", json.loads(read_text("examples/commerce-order-b2b.json")), actor="t", now=clock.now())
    outbox.close()
    sent = defs.resolve_job_def(SEND_JOB).execute_in_process(instance=instance, raise_on_error=False)
    assert not sent.success
    on_failure(defs, clock, instance, sent)
    synced = defs.resolve_job_def(MINUTE_SYNC_JOB).execute_in_process(instance=instance, raise_on_error=False)
    on_failure(defs, clock, instance, synced)
    bodies = [body for _, _, body in received.items]
    assert [(b["key"], b["details"]["job"]) for b in bodies] == [("credentials_refused:acme", SEND_JOB)]


def test_what_a_failed_run_shows():
    """Refused tenants in a shard's failure are credentials incidents; the others of the shard are run
    failures; a held snapshot is left to the check alert; a step of no tenant is the job's."""
    shards = {"sonet_sync_shard_000": ["acme", "beta", "gamma"]}
    text = f"acme: {REFUSED}; beta: ConnectionError: boom; gamma: snapshot held back by blocking checks (x)"
    found = incidents_of_run("sonet_sync_minute", "r1", [("sonet_sync_shard_000", text)], ["acme", "beta"], shards, AT)
    assert sorted(a.key for a in found) == ["credentials_refused:acme", "run_failed:sonet_sync_minute:beta"]
    (job_only,) = incidents_of_run("sonet_retention", "r2", [("retention_archive", "boom")], ["acme"], {}, AT)
    assert isinstance(job_only, Alert) and job_only.key == "run_failed:sonet_retention" and job_only.tenant is None
