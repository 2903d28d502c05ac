"""The alert sensor: one message per incident across repeated ticks, for orders newly failed in the
outbox, a stale sync (its freshness check failing) and a failed blocking check, and one more when a
lasting incident clears."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckSeverity,
    DagsterInstance,
    SkipReason,
    build_sensor_context,
)

from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.config.tenants import load_tenants
from sonet_pipeline.contract import read_text
from sonet_pipeline.definitions import build_definitions
from sonet_pipeline.outbox import open_outbox
from sonet_pipeline.resources.alerts import AlertsResource
from sonet_pipeline.resources.outbox import OutboxResource
from tests.alerts.receivers import Received, smtp_server, webhook_receiver

NOW = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)


def tenants_file(tmp_path: Path, webhook: str) -> Path:
    path = tmp_path / "tenants.yaml"
    path.write_text(
        "tenants:\n"
        '  - {name: acme, sonet: {base_url: "http://127.0.0.1:9", company: "01", token_env: T1},\n'
        f"     alerts: {{webhook: {webhook}/acme}}}}\n"
        '  - {name: beta, sonet: {base_url: "http://127.0.0.1:9", company: "02", token_env: T2}}\n'
    )
    return path


@pytest.fixture
def world(tmp_path, monkeypatch):
    """Definitions whose tenant acme alerts to /acme and whose deployment alerts to /ops; one instance."""
    monkeypatch.setenv("T1", "x")
    monkeypatch.setenv("T2", "y")
    with webhook_receiver() as (url, received):
        monkeypatch.setenv("SONET_PIPELINE_ALERT_WEBHOOK_URL", f"{url}/ops")
        clock = ManualClock(NOW)
        defs = build_definitions(load_tenants(tenants_file(tmp_path, url)), clock=clock)
        yield World(defs, clock, DagsterInstance.ephemeral(), received)


class World:
    def __init__(self, defs, clock: ManualClock, instance: DagsterInstance, received: Received) -> None:
        self.defs, self.clock, self.instance, self.received = defs, clock, instance, received
        self.cursor: str | None = None

    def tick(self):
        sensor = self.defs.resolve_sensor_def("sonet_alert_sensor")
        resources = {"alerts": AlertsResource(), "outbox": OutboxResource(), "clock": self.clock}
        with build_sensor_context(instance=self.instance, cursor=self.cursor, resources=resources) as context:
            result = sensor(context)
            self.cursor = context.cursor
        return result

    def bodies(self, path: str = "/ops") -> list[dict]:
        return [body for p, _, body in self.received.items if p == path]

    def evaluate(self, key: AssetCheckKey, passed: bool, severity=AssetCheckSeverity.ERROR, blocking=True) -> None:
        self.instance.report_runless_asset_event(
            AssetCheckEvaluation(
                asset_key=key.asset_key,
                check_name=key.name,
                passed=passed,
                severity=severity,
                blocking=blocking,
                metadata={"offenders": 0 if passed else 3},
            )
        )


def order(number: str) -> dict:
    result = copy.deepcopy(json.loads(read_text("examples/commerce-order-b2b.json")))
    result["orderNumber"] = number
    return result


def fail(number: str, tenant: str, now: datetime) -> str:
    outbox = open_outbox()
    try:
        message_id = outbox.enqueue(tenant, order(number), actor="test", now=now).message_id
        outbox.mark_failed(message_id, code="UNMAPPABLE", message="no such item", field="lines[0]", actor="t", now=now)
        return message_id
    finally:
        outbox.close()


def test_a_newly_failed_order_is_one_message_to_the_tenant_and_the_deployment(world):
    """An order that fails is told once, to acme's webhook and the deployment's; the next failure is
    a new message about it alone; ticks in between send nothing."""
    first = fail("WEB-1", "acme", NOW)
    assert isinstance(world.tick(), SkipReason)
    world.tick()
    (alert,) = world.bodies("/acme")
    assert world.bodies("/ops") == [alert]
    assert alert["kind"] == "order_failed" and alert["tenant"] == "acme" and alert["state"] == "open"
    assert alert["details"]["orders"] == [
        {
            "message_id": first,
            "order_number": "WEB-1",
            "code": "UNMAPPABLE",
            "message": "no such item",
            "field": "lines[0]",
        }
    ]
    world.clock.advance(60)
    fail("WEB-2", "acme", world.clock.now())
    world.tick()
    world.tick()
    assert [b["details"]["orders"][0]["order_number"] for b in world.bodies("/acme")] == ["WEB-1", "WEB-2"]


def test_an_order_failed_long_ago_is_not_new(world):
    """What failed more than an hour before the sensor first looks is not announced as new."""
    fail("OLD-1", "beta", NOW - timedelta(hours=2))
    world.tick()
    assert world.received.items == []


def blocking_check(world, tenant: str) -> AssetCheckKey:
    for definition in world.defs.assets or []:
        for spec in getattr(definition, "check_specs", []):
            if spec.blocking and spec.asset_key.path[0] == tenant:
                return spec.key
    raise AssertionError("no blocking check")


def freshness_check(world, tenant: str) -> AssetCheckKey:
    for definition in world.defs.asset_checks or []:
        for key in definition.check_keys:
            if key.asset_key.path[0] == tenant:
                return key
    raise AssertionError("no freshness check")


def test_a_failed_blocking_check_is_one_message_then_one_when_it_passes(world):
    """A blocking check that fails stays one incident over many ticks; its pass sends the clear."""
    key = blocking_check(world, "beta")
    world.evaluate(key, passed=False)
    for _ in range(3):
        world.tick()
        world.evaluate(key, passed=False)
    (alert,) = world.bodies()
    assert alert["kind"] == "check_failed" and alert["tenant"] == "beta" and alert["details"]["check"] == key.name
    assert alert["details"]["offenders"] == 3
    world.evaluate(key, passed=True)
    world.tick()
    world.tick()
    opened, cleared = world.bodies()
    assert cleared["state"] == "cleared" and cleared["key"] == opened["key"]
    world.evaluate(key, passed=False)
    world.tick()
    assert len(world.bodies()) == 3  # failing again is a new incident


def test_a_stale_sync_is_one_incident_per_tenant_until_fresh(world):
    """A tenant whose freshness check fails is one `sync_stale` incident until it passes again; a check
    in progress (no completed evaluation) changes nothing."""
    key = freshness_check(world, "acme")
    world.evaluate(key, passed=False, severity=AssetCheckSeverity.WARN, blocking=False)
    world.tick()
    world.tick()
    (alert,) = world.bodies("/acme")
    assert alert["kind"] == "sync_stale" and alert["key"] == "sync_stale:acme"
    assert alert["details"]["checks"] == {f"{key.asset_key.to_user_string()}:{key.name}": {"offenders": 3}}
    world.evaluate(key, passed=True, severity=AssetCheckSeverity.WARN, blocking=False)
    world.tick()
    assert [b["state"] for b in world.bodies("/acme")] == ["open", "cleared"]


def test_an_order_alert_no_channel_took_is_tried_again_next_tick(world):
    """A webhook answering 503 leaves the failed order unnotified (the tick says so); the next tick, with
    the webhook answering again, sends it once; the cursor kept through the failing tick."""
    world.received.status = 503
    fail("WEB-9", "acme", NOW)
    result = world.tick()
    assert isinstance(result, SkipReason) and "not delivered to any channel" in (result.skip_message or "")
    world.received.status = 204
    world.tick()
    world.tick()
    assert [b["details"]["orders"][0]["order_number"] for b in world.bodies("/acme")] == ["WEB-9"]


def test_no_channel_no_work(tmp_path, monkeypatch):
    """Without any channel the sensor skips, saying why."""
    monkeypatch.setenv("T1", "x")
    monkeypatch.setenv("T2", "y")
    monkeypatch.delenv("SONET_PIPELINE_ALERT_WEBHOOK_URL", raising=False)
    path = tmp_path / "tenants.yaml"
    path.write_text(
        'tenants:\n  - {name: acme, sonet: {base_url: "http://127.0.0.1:9", company: "01", token_env: T1}}\n'
    )
    defs = build_definitions(load_tenants(path), clock=ManualClock(NOW))
    sensor = defs.resolve_sensor_def("sonet_alert_sensor")
    resources = {"alerts": AlertsResource(), "outbox": OutboxResource(), "clock": ManualClock(NOW)}
    with build_sensor_context(instance=DagsterInstance.ephemeral(), resources=resources) as context:
        result = sensor(context)
    assert isinstance(result, SkipReason) and "no alert channel" in (result.skip_message or "")


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_the_deployments_smtp_password_is_bound_as_an_env_var(tmp_path, monkeypatch):
    """SONET_PIPELINE_ALERT_SMTP_*: the definitions' `alerts` resource holds the password as an EnvVar of
    SONET_PIPELINE_ALERT_SMTP_PASSWORD and logs in with it; the e-mail reaches the server's mailbox."""
    monkeypatch.setenv("T1", "x")
    path = tmp_path / "tenants.yaml"
    path.write_text(
        'tenants:\n  - {name: acme, sonet: {base_url: "http://127.0.0.1:9", company: "01", token_env: T1}}\n'
    )
    with smtp_server(login=("pipeline", "s3cret")) as (port, mails):
        for name, value in {
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "SECURITY": "none",
            "FROM": "pipeline@example.com",
            "TO": "ops@example.com",
            "USERNAME": "pipeline",
            "PASSWORD": "s3cret",
        }.items():
            monkeypatch.setenv(f"SONET_PIPELINE_ALERT_SMTP_{name}", value)
        clock = ManualClock(NOW)
        defs = build_definitions(load_tenants(path), clock=clock)
        alerts = defs.resources["alerts"]
        assert "s3cret" not in repr(alerts)
        fail("WEB-1", "acme", NOW)
        sensor = defs.resolve_sensor_def("sonet_alert_sensor")
        resources = {"alerts": alerts, "outbox": OutboxResource(), "clock": clock}
        with build_sensor_context(instance=DagsterInstance.ephemeral(), resources=resources) as context:
            sensor(context)
        (_, recipients, message), *rest = mails.wait_for(1)
    assert recipients == ["ops@example.com"] and not rest
    assert "order_failed" in str(message["Subject"]) and "WEB-1" in message.get_payload(decode=True).decode()
