"""Alerts on failed runs (Dagster's run-failure sensor): one message per incident, not one per run.

A failed run is read through its step failures: a tenant whose Sonet refused its token or company
(401, 403: the sync and send steps fail with `tenant 'x': Sonet refused ...`) is a `credentials_refused`
incident of that tenant; any other failure is a `run_failed` incident of the job and each tenant of the
failing steps (`<tenant>__...` steps, or the minute sync's shards), or of the job alone (no tenant).
A run that fails like the one before it continues the incident: no message. An incident is over when the
job has succeeded since (`run_failed`) or the tenant has synced since (`credentials_refused`); the alert
sensor then sends its clear, and the next failure is a new incident. Open incidents are kept in the
instance, as the latest observation of `sonet_alerts` (the UI lists them). Dagster evaluates each failed
run once: an alert that reached no channel is kept as undelivered, and the alert sensor tries it again.
"""

# No `from __future__ import annotations`: Dagster reads the sensor's resource annotations.

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from dagster import (
    AssetObservation,
    DagsterEvent,
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    MetadataValue,
    ResourceParam,
    RunFailureSensorContext,
    RunsFilter,
    SensorDefinition,
    run_failure_sensor,
)

from sonet_pipeline.alerts.alert import Alert
from sonet_pipeline.alerts.incidents import OpenIncidents
from sonet_pipeline.assets.alerts import ALERTS_KEY
from sonet_pipeline.assets.inbound_shards import tenant_shards
from sonet_pipeline.assets.tenant_sync import sync_status_key
from sonet_pipeline.common.clock import Clock
from sonet_pipeline.config.alerts import AlertChannels
from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.resources.alerts import AlertsResource

#: What the Query and Message clients say when Sonet answers 401 or 403 (`sonet/query.py`, `sonet/message.py`).
REFUSED = re.compile(r"tenant '([a-z][a-z0-9_]*)': Sonet refused (?:the token|company )")
#: A shard step's failure for a held snapshot: the check sensor reports the blocking check itself.
HELD = "snapshot held back by blocking checks"
RUN_FAILED, CREDENTIALS = "run_failed", "credentials_refused"
_ERROR_CHARS = 600


def build_run_failure_alert_sensor(
    tenants: Sequence[Tenant], default: AlertChannels | None, shard_size: int
) -> SensorDefinition:
    names = [t.name for t in tenants]
    shards = {step: [t.name for t in members] for step, members in tenant_shards(tenants, shard_size).items()}

    @run_failure_sensor(
        name="sonet_run_failure_alerts",
        default_status=DefaultSensorStatus.RUNNING,
        description="Alerts on failed runs and refused credentials, once per incident (docs/alerts.md).",
    )
    def run_failure_alerts(context: RunFailureSensorContext, alerts: AlertsResource, clock: ResourceParam[Clock]):
        notifier = alerts.notifier(default, tenants)
        if not notifier.configured:
            return
        now = clock.now()
        run = context.dagster_run
        failures = [_failure(event) for event in context.get_step_failure_events()]
        if not failures:
            failures = [(None, _failure_text(context.failure_event))]
        found = incidents_of_run(run.job_name, run.run_id, failures, names, shards, now)
        state = read_open(context.instance)
        fresh = [a for a in found if a.key not in state or over(context.instance, a.key, state.opened_at(a.key))]
        undelivered: list[str] = []
        for alert in fresh:
            delivery = notifier.notify(alert)
            delivered = delivery.reached_anyone or not delivery.addressed
            state.record(alert, delivered=delivered)  # undelivered: the alert sensor tries again each tick
            undelivered += [] if delivered else [f"{alert.key}: {f}" for f in delivery.failures]
        if fresh:
            write_open(context.instance, state, [a.key for a in fresh])
        if undelivered:  # shown on the sensor's tick in the UI
            raise RuntimeError(f"alerts not delivered to any channel yet: {'; '.join(undelivered)}")

    return run_failure_alerts


def incidents_of_run(
    job: str,
    run_id: str,
    failures: Sequence[tuple[str | None, str]],
    tenants: Sequence[str],
    shards: Mapping[str, list[str]],
    at: datetime,
) -> list[Alert]:
    """The incidents a failed run shows: (step key or None, what failed) per failed step."""
    found: dict[str, Alert] = {}
    for step, text in failures:
        refused = set(REFUSED.findall(text))
        for tenant in sorted(refused):
            found.setdefault(
                f"{CREDENTIALS}:{tenant}",
                Alert(
                    CREDENTIALS,
                    f"{CREDENTIALS}:{tenant}",
                    f"Sonet refused the credentials of tenant {tenant!r}: nothing is synced or sent for it",
                    at,
                    tenant,
                    details={"job": job, "run_id": run_id, "step": step, "error": text[:_ERROR_CHARS]},
                ),
            )
        for tenant in _failing_tenants(step, text, tenants, shards, refused):
            key = f"{RUN_FAILED}:{job}" + (f":{tenant}" if tenant else "")
            summary = f"run of {job} failed" + (f" for tenant {tenant!r}" if tenant else "")
            details = {"job": job, "run_id": run_id, "step": step, "error": text[:_ERROR_CHARS]}
            found.setdefault(key, Alert(RUN_FAILED, key, summary, at, tenant, details=details))
    return list(found.values())


def _failing_tenants(
    step: str | None, text: str, tenants: Sequence[str], shards: Mapping[str, list[str]], refused: set[str]
) -> list[str | None]:
    """The tenants whose failure (other than refused credentials) the step shows; [None]: no tenant's."""
    if step is not None and step in shards:  # "acme: what failed; beta: what failed"
        parts = [p.strip() for p in text.split("; ")]
        named = [t for t in shards[step] if any(p.startswith(f"{t}: ") and HELD not in p for p in parts)]
        return [t for t in named if t not in refused]
    owner = next((t for t in tenants if step is not None and step.startswith(f"{t}__")), None)
    if owner is not None:
        return [] if owner in refused else [owner]
    return [] if refused else [None]


def over(instance: DagsterInstance, key: str, since: float) -> bool:
    """Whether the incident `key`, notified at `since`, is over: its job succeeded since, or its tenant synced."""
    kind, _, rest = key.partition(":")
    if kind == CREDENTIALS:
        observed = instance.fetch_observations(sync_status_key(rest), limit=1).records
        return bool(observed) and observed[0].timestamp > since
    job = rest.split(":", 1)[0]
    after = datetime.fromtimestamp(since, UTC)
    filters = RunsFilter(job_name=job, statuses=[DagsterRunStatus.SUCCESS], updated_after=after)
    return bool(instance.get_run_records(filters=filters, limit=1))


def read_open(instance: DagsterInstance) -> OpenIncidents:
    """The open incidents of failed runs, as last written."""
    records = instance.fetch_observations(ALERTS_KEY, limit=1).records
    observation = records[0].asset_observation if records else None
    value = observation.metadata.get("open") if observation is not None else None
    return OpenIncidents.from_json(getattr(value, "value", None))


def write_open(instance: DagsterInstance, state: OpenIncidents, notified: list[str]) -> None:
    instance.report_runless_asset_event(
        AssetObservation(
            ALERTS_KEY,
            metadata={
                "open": MetadataValue.json(state.to_json()),
                "notified": MetadataValue.text(", ".join(notified) or "-"),
            },
        )
    )


def _failure(event: DagsterEvent) -> tuple[str | None, str]:
    return event.step_key, _failure_text(event)


def _failure_text(event: DagsterEvent) -> str:
    data = event.event_specific_data
    user = getattr(data, "user_failure_data", None)
    if user is not None and user.description:
        return str(user.description)
    error = getattr(data, "error", None)
    if error is not None:
        return f"{error.cls_name}: {error.message}".strip()
    return event.message or "the run failed"
