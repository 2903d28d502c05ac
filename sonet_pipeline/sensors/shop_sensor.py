"""The shop sensor: one run that republishes, for every tenant, exactly the files whose inputs changed.

Every 30 s it compares each tenant's inputs now (the sync's snapshot digests, the outbox's change
mark, the configuration's digest: `shop/inputs.py`) with those the published manifest records, and
the clock with the `next_change` it records (a price that comes into force: `prices.jsonl`), and
asks for one run with the stale files of all tenants. A sync that changed nothing publishes nothing.
No new run while a shop run is queued or running; the run key (the inputs, and the 10-minute window)
keeps a tick from asking twice for the same work, yet retries work that failed ten minutes later.
"""

# No `from __future__ import annotations`: Dagster reads the sensor's resource annotations.

import hashlib
import json
from collections.abc import Sequence

from dagster import (
    DefaultSensorStatus,
    ResourceParam,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from sonet_pipeline.assets.shop import shop_selection
from sonet_pipeline.common.clock import Clock
from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.jobs.instance import FLOW_TAG
from sonet_pipeline.jobs.liveness import still_running
from sonet_pipeline.jobs.shop import SHOP_JOB
from sonet_pipeline.jobs.sync import AssetJob
from sonet_pipeline.resources.outbox import OutboxResource
from sonet_pipeline.resources.publish import PublishResource
from sonet_pipeline.shop.stale import find_stale

INTERVAL_SECONDS = 30
RETRY_WINDOW_SECONDS = 600


def build_shop_sensor(shop_job: AssetJob, tenants: Sequence[Tenant]) -> SensorDefinition:
    @sensor(
        name="sonet_shop_sensor",
        job=shop_job,
        minimum_interval_seconds=INTERVAL_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
        description="Republishes each tenant's shop files whose Sonet records, orders or settings changed, "
        "and its prices when a price comes into force.",
    )
    def shop_sensor(
        context: SensorEvaluationContext,
        outbox: OutboxResource,
        publish: PublishResource,
        clock: ResourceParam[Clock],
    ) -> RunRequest | SkipReason:
        if (busy := still_running(context.instance, SHOP_JOB, "shop")) is not None:
            return busy
        with outbox.open() as messages:
            found = find_stale(tenants, messages, publish.destination, now=clock.now())
        stale = {t.tenant: t.files for t in found if t.files}  # a tenant not synced yet has none
        # The inputs, and the next_change instants come: a price in force asks anew though nothing changed.
        seen = {t.tenant: [t.inputs, t.due] for t in found if t.files}
        if not stale:
            waiting = [t.tenant for t in found if t.inputs is None]
            if waiting:
                rest = "; the other tenants' files are up to date" if len(waiting) < len(found) else ""
                return SkipReason(f"not synced yet: {', '.join(waiting)}{rest}")
            return SkipReason("every tenant's published files are up to date")
        window = int(clock.now().timestamp()) // RETRY_WINDOW_SECONDS
        digest = hashlib.sha256(json.dumps([seen, stale], sort_keys=True).encode()).hexdigest()[:20]
        context.log.info("stale shop files: %s", "; ".join(f"{t}: {', '.join(f)}" for t, f in stale.items()))
        assets, checks = shop_selection(stale)
        return RunRequest(
            run_key=f"shop-{digest}-{window}", asset_selection=assets, asset_check_keys=checks, tags={FLOW_TAG: "shop"}
        )

    return shop_sensor
