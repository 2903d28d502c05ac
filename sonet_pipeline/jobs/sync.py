"""The sync jobs: the tenants' inbound assets (the CLI, the nightly full read, backfills), the minute
sync of the due tenants in shards (`assets/inbound_shards.py`, built there: its steps are ops), and
the freshness checks (`assets/freshness.py`), run by `sensors/freshness_sensor.py`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dagster import (
    AssetChecksDefinition,
    AssetsDefinition,
    AssetSelection,
    define_asset_job,
)

from sonet_pipeline.jobs.instance import FLOW_TAG

SYNC_JOB = "sonet_sync"
#: The minute schedule's job: one step per shard of tenants (`SONET_PIPELINE_SYNC_SHARD_SIZE`).
MINUTE_SYNC_JOB = "sonet_sync_minute"
FRESHNESS_JOB = "sonet_freshness"

#: What `define_asset_job` answers (Dagster does not export its class).
AssetJob = Any


def build_sync_job(inbound: Sequence[AssetsDefinition], freshness: Sequence[AssetChecksDefinition]) -> AssetJob:
    """The inbound assets with the checks evaluated in their step; freshness is judged by its own job."""
    return define_asset_job(
        SYNC_JOB,
        selection=AssetSelection.assets(*inbound) - AssetSelection.checks(*freshness),
        tags={FLOW_TAG: "sync"},
        description="Sonet items, customers, segments and accepted sales orders into each tenant's store "
        "(the minute sync).",
    )


def build_freshness_job(checks: Sequence[AssetChecksDefinition]) -> AssetJob:
    return define_asset_job(
        FRESHNESS_JOB,
        selection=AssetSelection.checks(*checks),
        tags={FLOW_TAG: "freshness"},
        description="Dagster's freshness check of each tenant: its last successful sync (the `sync` asset's "
        "last observation) is within three of its cadences; started by sonet_freshness_sensor.",
    )
