"""The alert sensor: orders newly `failed` in the outbox, stale syncs, failed blocking checks, and the
clears of failed-run incidents; one message per incident, its state in the sensor's cursor.

Each minute it reads:
- the outbox's `failed` messages that failed within the last hour and were not notified yet: one message
  per tenant per tick listing them (`order_failed`); what an operator resends and fails again is new;
- the latest evaluation of every freshness check: a tenant any of whose checks fails is one `sync_stale`
  incident until all of them pass again;
- the latest evaluation of every blocking check: each failing one is a `check_failed` incident until it
  passes;
- the failed-run incidents open in the instance (`run_failure_alerts.py`): one whose alert reached no
  channel is sent again until one gets it; each one over (the job has succeeded since, the tenant has
  synced since) gets its clear, once.
"""

# No `from __future__ import annotations`: Dagster reads the sensor's resource annotations.

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from dagster import (
    AssetCheckKey,
    AssetsDefinition,
    DagsterInstance,
    DefaultSensorStatus,
    ResourceParam,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from sonet_pipeline.alerts.alert import Alert
from sonet_pipeline.alerts.incidents import OpenIncidents
from sonet_pipeline.alerts.notifier import Notifier
from sonet_pipeline.common.clock import Clock
from sonet_pipeline.config.alerts import AlertChannels
from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.outbox.model import Message
from sonet_pipeline.resources.alerts import AlertsResource
from sonet_pipeline.resources.outbox import OutboxResource
from sonet_pipeline.sensors.run_failure_alerts import over, read_open

INTERVAL_SECONDS = 60
#: How long after failing an order may first be seen (the sensor's ticks late, a commit slow) and still alert.
ORDER_WINDOW = timedelta(hours=1)
#: Orders listed in one message; the rest are counted.
LISTED = 20
STALE, CHECK_FAILED, ORDER_FAILED = "sync_stale", "check_failed", "order_failed"


def build_alert_sensor(
    tenants: Sequence[Tenant],
    default: AlertChannels | None,
    *,
    freshness: Iterable[AssetsDefinition] = (),
    checked: Iterable[AssetsDefinition] = (),
) -> SensorDefinition:
    """`freshness`: the freshness checks; `checked`: assets (and checks) whose blocking checks to watch."""
    fresh_keys = sorted({key for definition in freshness for key in definition.check_keys}, key=str)
    blocking = {spec.key for definition in checked for spec in definition.check_specs if spec.blocking}
    blocking_keys = sorted(blocking, key=str)

    @sensor(
        name="sonet_alert_sensor",
        minimum_interval_seconds=INTERVAL_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
        description="Alerts on failed orders, stale syncs and failed blocking checks, once per incident.",
    )
    def alert_sensor(
        context: SensorEvaluationContext,
        alerts: AlertsResource,
        outbox: OutboxResource,
        clock: ResourceParam[Clock],
    ) -> SkipReason:
        notifier = alerts.notifier(default, tenants)
        if not notifier.configured:
            return SkipReason("no alert channel is configured (docs/alerts.md)")
        now = clock.now()
        cursor = json.loads(context.cursor) if context.cursor else {}
        with outbox.open() as store:
            failed = store.list(state="failed")
        recent, problems = _orders(notifier, failed, cursor.get("orders", {}), now)
        checks = OpenIncidents.from_json(cursor.get("checks"))
        latest = _latest(context.instance, [*fresh_keys, *blocking_keys])
        stale = _stale(latest, fresh_keys, checks, now)
        held = _held(latest, blocking_keys, checks, now)
        problems += checks.open_new(notifier, [*stale, *held])
        cleared = checks.close_gone(notifier, {a.key for a in stale}, f"{STALE}:", now, "every freshness check passes")
        cleared += checks.close_gone(notifier, {a.key for a in held}, f"{CHECK_FAILED}:", now, "the check passes")
        runs = read_open(context.instance)
        runs_cleared = _clear_runs(context.instance, notifier, runs, cursor.get("runs_cleared", {}), now)
        runs_retried, failures = _retry_runs(notifier, runs, cursor.get("runs_retried", {}))
        problems += failures
        context.update_cursor(
            json.dumps(
                {
                    "orders": recent,
                    "checks": checks.to_json(),
                    "runs_cleared": runs_cleared,
                    "runs_retried": runs_retried,
                }
            )
        )
        if problems:  # not raised: Dagster would drop the cursor, and what did reach a channel would go again
            context.log.warning("alerts not delivered to any channel (tried again next tick): %s", "; ".join(problems))
            return SkipReason(f"alerts not delivered to any channel, tried again next tick: {'; '.join(problems)}")
        return SkipReason(f"{len(checks.open_keys())} check incident(s) open; {cleared} cleared this tick")

    return alert_sensor


def _orders(
    notifier: Notifier, failed: list[Message], seen: dict[str, float], now: datetime
) -> tuple[dict[str, float], list[str]]:
    """Alert on the failed messages not notified yet (one message per tenant); the notified ones of the
    window (message id -> when it failed), and what reached no channel."""
    start = (now - ORDER_WINDOW).timestamp()
    recent = {m.message_id: m.updated_at.timestamp() for m in failed if m.updated_at.timestamp() >= start}
    new = [m for m in failed if m.message_id in recent and seen.get(m.message_id) != recent[m.message_id]]
    problems: list[str] = []
    for tenant in sorted({m.tenant for m in new}):
        theirs = [m for m in new if m.tenant == tenant]
        delivery = notifier.notify(_order_alert(tenant, theirs, now))
        if delivery.addressed and not delivery.reached_anyone:
            problems.extend(delivery.failures)
            for message in theirs:  # tried again next tick
                recent.pop(message.message_id)
    return recent, problems


def _order_alert(tenant: str, messages: list[Message], now: datetime) -> Alert:
    listed = [
        {
            "message_id": m.message_id,
            "order_number": m.order_number,
            "code": m.error.code if m.error else None,
            "message": m.error.message if m.error else None,
            "field": m.error.field if m.error else None,
        }
        for m in messages[:LISTED]
    ]
    numbers = ", ".join(f"{o['order_number']} ({o['code']})" for o in listed)
    more = f" and {len(messages) - LISTED} more" if len(messages) > LISTED else ""
    summary = f"{len(messages)} order(s) of tenant {tenant!r} failed: {numbers}{more}"
    key = f"{ORDER_FAILED}:{tenant}:{messages[0].message_id}"
    details = {"orders": listed, "count": len(messages), "next": "sonet-pipeline outbox list --state failed"}
    return Alert(ORDER_FAILED, key, summary, now, tenant, details=details)


def _latest(instance: DagsterInstance, keys: list[AssetCheckKey]) -> dict[AssetCheckKey, Any]:
    """Each check's latest completed evaluation (None: none yet, or one in progress)."""
    if not keys:
        return {}
    records = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    result: dict[AssetCheckKey, Any] = {}
    for key in keys:
        record = records.get(key)
        result[key] = record.event.asset_check_evaluation if record is not None and record.event else None
    return result


def _stale(latest: dict[AssetCheckKey, Any], keys: list[AssetCheckKey], open_: OpenIncidents, now: datetime):
    """One incident per tenant with a failing freshness check; one in progress keeps the tenant as it was."""
    alerts: list[Alert] = []
    for tenant in sorted({k.asset_key.path[0] for k in keys}):
        theirs = [k for k in keys if k.asset_key.path[0] == tenant]
        failing = [k for k in theirs if latest.get(k) is not None and not latest[k].passed]
        unknown = any(latest.get(k) is None for k in theirs)
        key = f"{STALE}:{tenant}"
        if not failing and not (unknown and key in open_):
            continue
        checks = {
            f"{k.asset_key.to_user_string()}:{k.name}": {name: _meta(latest[k], name) for name in latest[k].metadata}
            for k in failing
        }
        summary = f"the sync of tenant {tenant!r} is behind its freshness limit: {', '.join(checks) or 'stale'}"
        alerts.append(Alert(STALE, key, summary, now, tenant, details={"checks": checks}))
    return alerts


def _held(latest: dict[AssetCheckKey, Any], keys: list[AssetCheckKey], open_: OpenIncidents, now: datetime):
    """One incident per failing blocking check (one in progress stays as it was)."""
    alerts: list[Alert] = []
    for check in keys:
        evaluation, key = latest.get(check), f"{CHECK_FAILED}:{check.asset_key.to_user_string()}:{check.name}"
        if (evaluation is None and key not in open_) or (evaluation is not None and evaluation.passed):
            continue
        tenant = check.asset_key.path[0]
        asset = check.asset_key.to_user_string()
        summary = f"blocking check {check.name} of {asset} failed: its snapshot is held back"
        details = {"asset": asset, "check": check.name}
        if evaluation is not None:
            details.update({name: _meta(evaluation, name) for name in evaluation.metadata})
        alerts.append(Alert(CHECK_FAILED, key, summary, now, tenant, details=details))
    return alerts


def _retry_runs(notifier: Notifier, state: OpenIncidents, sent: dict[str, float]):
    """Each failed-run alert that reached no channel, again until one gets it; (key -> when opened) of
    those delivered here, and what still reached no channel."""
    done = {key: at for key, at in sent.items() if key in state and state.opened_at(key) == at}
    problems: list[str] = []
    for alert in state.undelivered():
        if done.get(alert.key) == state.opened_at(alert.key):
            continue
        delivery = notifier.notify(alert)
        if delivery.reached_anyone or not delivery.addressed:
            done[alert.key] = state.opened_at(alert.key)
        else:
            problems.extend(f"{alert.key}: {f}" for f in delivery.failures)
    return done, problems


def _clear_runs(instance: DagsterInstance, notifier: Notifier, state: OpenIncidents, sent: dict[str, float], now):
    """The clear of each failed-run incident that is over, once; what was cleared (key -> when opened)."""
    state = OpenIncidents(dict(state.entries))  # clearing pops: the caller's copy stays whole
    done = {key: at for key, at in sent.items() if key in state and state.opened_at(key) == at}
    for key in state.open_keys():
        opened = state.opened_at(key)
        if done.get(key) == opened or not over(instance, key, opened):
            continue
        notifier.notify(state.clear(key, now, "the job has succeeded since, or the tenant has synced since"))
        done[key] = opened
    return done


def _meta(evaluation: Any, name: str) -> Any:
    value = evaluation.metadata.get(name)
    raw = getattr(value, "value", value)
    return raw if isinstance(raw, str | int | float | bool) or raw is None else str(raw)
