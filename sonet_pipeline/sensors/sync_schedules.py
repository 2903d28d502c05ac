"""The sync's schedules: every minute for the due tenants, a nightly full read, freshness every 5 minutes.

The minute schedule asks for one run for all due tenants (runs per minute do not grow with tenants)
and skips a tick while a sync run is queued or running, after failing any run whose process died.
"""

from __future__ import annotations

from collections.abc import Sequence

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from sonet_pipeline.assets.inbound import inbound_key, partition_key_for, sync_op_name
from sonet_pipeline.assets.inbound_checks import check_keys
from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.inbound.cadence import tenant_due
from sonet_pipeline.jobs.instance import FLOW_TAG
from sonet_pipeline.jobs.liveness import live_run_of
from sonet_pipeline.jobs.sync import SYNC_JOB, AssetJob
from sonet_pipeline.sonet.entities import SYNCED


def build_sync_schedules(
    sync_job: AssetJob, freshness_job: AssetJob, tenants: Sequence[Tenant]
) -> list[ScheduleDefinition]:
    @schedule(
        name="sonet_sync_every_minute",
        job=sync_job,
        cron_schedule="* * * * *",
        default_status=DefaultScheduleStatus.RUNNING,
        description="The delta sync of every tenant due this minute, in one run.",
    )
    def every_minute(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        busy = live_run_of(context.instance, SYNC_JOB)
        if busy is not None:
            return SkipReason(f"sync run {busy.run_id} is still {busy.status.value.lower()}")
        tick = context.scheduled_execution_time
        due = [t for t in tenants if tenant_due(t.sync_every_seconds, tick)]
        if not due:
            return SkipReason("no tenant is due this minute")
        return RunRequest(
            partition_key=partition_key_for(tick),
            asset_selection=[inbound_key(t.name, name) for t in due for name in SYNCED],
            asset_check_keys=[key for t in due for key in check_keys(t.name)],  # not the freshness checks
            tags={FLOW_TAG: "sync"},
        )

    @schedule(
        name="sonet_sync_nightly_full",
        job=sync_job,
        cron_schedule="30 2 * * *",
        default_status=DefaultScheduleStatus.RUNNING,
        description="Every tenant's full lists again: catches anything a delta missed.",
    )
    def nightly_full(context: ScheduleEvaluationContext) -> RunRequest:
        return RunRequest(
            partition_key=partition_key_for(context.scheduled_execution_time),
            run_config={"ops": {sync_op_name(t.name): {"config": {"full": True}} for t in tenants}},
            tags={FLOW_TAG: "sync"},
        )

    freshness = ScheduleDefinition(
        name="sonet_freshness_every_5_minutes",
        job=freshness_job,
        cron_schedule="*/5 * * * *",
        default_status=DefaultScheduleStatus.RUNNING,
    )
    return [every_minute, nightly_full, freshness]
