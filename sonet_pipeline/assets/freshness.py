"""Freshness: each tenant's last successful sync is no older than a few of its cadences.

A sync that changed nothing materializes nothing; every successful one is an observation of the
tenant's `sync` asset (`tenant_sync.py`), so the age is from the newer of the two."""

# No `from __future__ import annotations`: Dagster reads the annotations of the decorated functions.
from collections.abc import Iterator

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    MetadataValue,
    ResourceParam,
    multi_asset_check,
)

from sonet_pipeline.assets.tenant_sync import inbound_key, sync_status_key
from sonet_pipeline.common.clock import Clock
from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.sonet.entities import SYNCED

#: How many cadences a sync may miss before its assets count as stale.
CADENCES = 3


def build_freshness_checks(tenant: Tenant) -> AssetChecksDefinition:
    limit_seconds = CADENCES * tenant.sync_every_seconds
    keys = [inbound_key(tenant.name, name) for name in SYNCED]

    @multi_asset_check(
        name=f"{tenant.name}__sonet_freshness",
        specs=[
            AssetCheckSpec("fresh", asset=key, description=f"synced within the last {limit_seconds} s") for key in keys
        ],
    )
    def fresh(context: AssetCheckExecutionContext, clock: ResourceParam[Clock]) -> Iterator[AssetCheckResult]:
        now = clock.now()
        observed = context.instance.fetch_observations(sync_status_key(tenant.name), limit=1).records
        synced_at = observed[0].timestamp if observed else None
        for key in keys:
            event = context.instance.get_latest_materialization_event(key)
            times = [t for t in (synced_at, None if event is None else event.timestamp) if t is not None]
            age = now.timestamp() - max(times) if times else None
            yield AssetCheckResult(
                asset_key=key,
                check_name="fresh",
                passed=age is not None and age <= limit_seconds,
                severity=AssetCheckSeverity.WARN,
                metadata={
                    "age_seconds": MetadataValue.text("never") if age is None else MetadataValue.float(round(age, 1)),
                    "limit_seconds": MetadataValue.int(limit_seconds),
                    **({"last_synced": MetadataValue.timestamp(max(times))} if times else {}),
                },
            )

    return fresh
