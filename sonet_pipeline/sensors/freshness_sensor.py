"""The freshness sensor: a run of the tenants' freshness checks (`assets/freshness.py`) when a result can change.

Dagster's `build_sensor_for_freshness_checks` has the right rules but one that does not fit here: it
runs a failed check again only after the asset is *materialized*, and a tenant's `sync` asset is only
ever observed (an idle tenant records one observation a minute, `assets/tenant_sync.py`), so a tenant
that recovered would stay failed. This sensor keeps Dagster's rules with "updated" meaning observed:

- a check never evaluated (or whose run ended without evaluating it) runs;
- a check that passed runs again once it could fail: its `dagster/fresh_until_timestamp`, moved on by
  the syncs observed since (the same limit from the newest one), is past;
- a check that failed runs again once the tenant's sync has been observed since;
- nothing runs while a run of the freshness job is queued or running.

So while every tenant keeps syncing no run is needed (a passed result stays true), and a tenant that
stops is judged within its limit (three cadences) plus the sensor's interval plus a run's start. One
run carries every check that is due.
"""

# No `from __future__ import annotations`: Dagster reads the annotations of the decorated functions.
from collections.abc import Mapping, Sequence

from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    DagsterInstance,
    DefaultSensorStatus,
    MetadataValue,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from sonet_pipeline.assets.tenant_sync import LAST_UPDATED
from sonet_pipeline.common.clock import Clock
from sonet_pipeline.jobs.liveness import still_running
from sonet_pipeline.jobs.sync import FRESHNESS_JOB, AssetJob

FRESHNESS_SENSOR = "sonet_freshness_sensor"
#: How often the daemon asks; a stale tenant shows within its limit plus this plus a run's start.
INTERVAL_SECONDS = 60
FRESH_UNTIL = "dagster/fresh_until_timestamp"


def build_freshness_sensor(
    freshness_job: AssetJob, check_keys: Sequence[AssetCheckKey], clock: Clock
) -> SensorDefinition:
    """The sensor over `check_keys` (one per tenant), on `clock` (the definitions' clock)."""

    @sensor(
        name=FRESHNESS_SENSOR,
        job=freshness_job,
        minimum_interval_seconds=INTERVAL_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
        description="Runs each tenant's freshness check (its last successful sync within three cadences) "
        "when its result can change: never run, its fresh-until time past, or synced since it failed.",
    )
    def freshness(context: SensorEvaluationContext) -> RunRequest | SkipReason:
        if (busy := still_running(context.instance, FRESHNESS_JOB, "freshness")) is not None:
            return busy
        now = clock.now().timestamp()
        due = [key for key in check_keys if check_due(context.instance, key, now)]
        if not due:
            return SkipReason("no freshness check can change: each passed until later, or failed and not synced since")
        return RunRequest(asset_check_keys=due)

    return freshness


def check_due(instance: DagsterInstance, key: AssetCheckKey, now: float) -> bool:
    """Whether the check's result can differ from its last one (none, or a run that never evaluated it)."""
    record = instance.get_latest_asset_check_evaluation_record(key)
    evaluation = record.evaluation if record is not None else None
    if record is None or record.event is None or not isinstance(evaluation, AssetCheckEvaluation):
        return True
    observed = instance.fetch_observations(key.asset_key, limit=1).records
    if not evaluation.passed:
        return bool(observed) and observed[0].timestamp > record.event.timestamp
    fresh_until, judged_update = _number(evaluation.metadata, FRESH_UNTIL), _number(evaluation.metadata, LAST_UPDATED)
    if fresh_until is None:
        return True
    last = observed[0].asset_observation if observed else None
    latest_update = _number(last.metadata, LAST_UPDATED) if last is not None else None
    if judged_update is not None and latest_update is not None and latest_update > judged_update:
        fresh_until += latest_update - judged_update  # the same limit, from the newest sync
    return fresh_until <= now


def _number(metadata: Mapping[str, MetadataValue], name: str) -> float | None:
    value = metadata.get(name)
    return float(value.value) if value is not None and isinstance(value.value, int | float) else None
