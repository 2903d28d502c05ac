"""The order sensor: one send run for every tenant with due messages, each at its own cadence.

Ticks every `min(send_every_seconds)` (10 s at the least). A tenant is asked for when the outbox has
due messages for it and its cadence has passed since it was last asked for (the cursor). Runs per tick
do not grow with tenants: one run carries them all. No new run while a send run is queued or running
(after failing any whose process died), and the run key keeps a tick from launching the same work twice.
"""

# No `from __future__ import annotations`: Dagster reads the sensor's resource annotations.

import json
from collections.abc import Sequence

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    ResourceParam,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from sonet_pipeline.assets.orders import built_key, delivered_key
from sonet_pipeline.common.clock import Clock
from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.jobs.instance import FLOW_TAG
from sonet_pipeline.jobs.liveness import still_running
from sonet_pipeline.jobs.send import SEND_JOB
from sonet_pipeline.jobs.sync import AssetJob
from sonet_pipeline.resources.outbox import OutboxResource

_IN_PROGRESS = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]


def build_order_sensor(send_job: AssetJob, tenants: Sequence[Tenant]) -> SensorDefinition:
    interval = max(10, min((t.send_every_seconds for t in tenants), default=60))

    @sensor(
        name="sonet_order_sensor",
        job=send_job,
        minimum_interval_seconds=interval,
        default_status=DefaultSensorStatus.RUNNING,
        description="Requests one send run for every tenant with due messages in the outbox.",
    )
    def order_sensor(
        context: SensorEvaluationContext, outbox: OutboxResource, clock: ResourceParam[Clock]
    ) -> RunRequest | SkipReason:
        if (busy := still_running(context.instance, SEND_JOB, "send")) is not None:
            return busy
        now = clock.now()
        with outbox.open() as store:
            with_due: set[str] = set(store.due_tenants(now))
        asked = json.loads(context.cursor) if context.cursor else {}
        due = [
            t for t in tenants if t.name in with_due and now.timestamp() - asked.get(t.name, 0) >= t.send_every_seconds
        ]
        if not due:
            return SkipReason("no tenant has due messages" if not with_due else "due tenants wait for their cadence")
        asked.update({t.name: now.timestamp() for t in due})
        context.update_cursor(json.dumps(asked))
        names = sorted(t.name for t in due)
        return RunRequest(
            run_key=f"send-{int(now.timestamp())}-{'-'.join(names)}",
            asset_selection=[key for t in due for key in (built_key(t.name), delivered_key(t.name))],
            tags={FLOW_TAG: "send"},
        )

    return order_sensor
