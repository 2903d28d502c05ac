"""The retention schedule: the retention job once a day (`SONET_PIPELINE_RETENTION_CRON`, UTC).

A tick is skipped while a retention run is queued or running (after failing any whose process died),
so a long first pass over a big instance is never joined by a second one.
"""

from __future__ import annotations

from dagster import (
    DefaultScheduleStatus,
    JobDefinition,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from sonet_pipeline.jobs.instance import FLOW_TAG
from sonet_pipeline.jobs.liveness import still_running
from sonet_pipeline.jobs.retention import RETENTION_JOB

RETENTION_SCHEDULE = "sonet_retention_daily"


def build_retention_schedule(retention_job: JobDefinition, cron: str) -> ScheduleDefinition:
    @schedule(
        name=RETENTION_SCHEDULE,
        job=retention_job,
        cron_schedule=cron,
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.RUNNING,
        description="Deletes what is past its retention age: old runs with their events, settled outbox "
        "orders, the stores' change history, archived messages.",
    )
    def retention_daily(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        if (busy := still_running(context.instance, RETENTION_JOB, "retention")) is not None:
            return busy
        return RunRequest(tags={FLOW_TAG: "retention"})

    return retention_daily
