"""The sync's schedules: every minute for the due tenants, and a nightly full read (freshness: `freshness_sensor.py`).

The minute schedule asks for one run of the minute sync job for all due tenants (runs per minute do
not grow with tenants; each shard step syncs its due tenants) and skips a tick while a sync run is
queued or running, after failing any run whose process died.
"""

from __future__ import annotations

from collections.abc import Sequence

from dagster import (
    DefaultScheduleStatus,
    JobDefinition,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from sonet_pipeline.assets.inbound import partition_key_for, sync_op_name
from sonet_pipeline.assets.inbound_shards import tenant_shards
from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.inbound.cadence import tenant_due
from sonet_pipeline.jobs.instance import FLOW_TAG
from sonet_pipeline.jobs.liveness import still_running
from sonet_pipeline.jobs.sync import MINUTE_SYNC_JOB, SYNC_JOB, AssetJob


def build_sync_schedules(
    minute_job: JobDefinition,
    sync_job: AssetJob,
    tenants: Sequence[Tenant],
    shard_size: int,
) -> list[ScheduleDefinition]:
    steps = tenant_shards(tenants, shard_size)

    @schedule(
        name="sonet_sync_every_minute",
        job=minute_job,
        cron_schedule="* * * * *",
        default_status=DefaultScheduleStatus.RUNNING,
        description="The delta sync of every tenant due this minute, in one run.",
    )
    def every_minute(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        for job_name in (MINUTE_SYNC_JOB, SYNC_JOB):
            if (busy := still_running(context.instance, job_name, "sync")) is not None:
                return busy
        tick = context.scheduled_execution_time
        due = {t.name for t in tenants if tenant_due(t.sync_every_seconds, tick)}
        if not due:
            return SkipReason("no tenant is due this minute")
        ops = {
            step: {"config": {"tenants": [t.name for t in members if t.name in due]}} for step, members in steps.items()
        }
        return RunRequest(run_config={"ops": ops}, tags={FLOW_TAG: "sync"})

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

    return [every_minute, nightly_full]
