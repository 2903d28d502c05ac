"""The freshness sensor: a run of the tenants' freshness checks (`assets/freshness.py`) when a result can change.

Dagster's `build_sensor_for_freshness_checks` has the right rules but one that does not fit here: it
runs a failed check again only after the asset is *materialized*, and a tenant's `sync` asset is only
ever observed (an idle tenant records one observation a minute, `assets/tenant_sync.py`), so a tenant
that recovered would stay failed. This sensor keeps Dagster's rules with "updated" meaning observed:

- a check never evaluated runs;
- a check that passed runs again once its `dagster/fresh_until_timestamp` is past;
- a check that failed runs again once the tenant's sync has been observed since;
- nothing runs while a run of the freshness job is queued or running.

One run carries every check that is due, so runs follow the tenants' limits (three cadences), not
their number: about one run every three minutes when every tenant syncs each minute.
"""

# No `from __future__ import annotations`: Dagster reads the annotations of the decorated functions.
from collections.abc import Sequence

from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    DagsterInstance,
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from sonet_pipeline.common.clock import Clock
from sonet_pipeline.jobs.liveness import live_run_of
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
        busy = live_run_of(context.instance, FRESHNESS_JOB)
        if busy is not None:
            return SkipReason(f"freshness run {busy.run_id} is still {busy.status.value.lower()}")
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
    if evaluation.passed:
        fresh_until = evaluation.metadata.get(FRESH_UNTIL)
        return fresh_until is None or float(fresh_until.value) <= now  # type: ignore[arg-type]
    observed = instance.fetch_observations(key.asset_key, limit=1).records
    return bool(observed) and observed[0].timestamp > record.event.timestamp
