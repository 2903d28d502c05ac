"""Inbound: each tenant's Sonet items, customers, segments and accepted sales orders, synced into its store.

One step per tenant materializes its three assets (`<tenant>/sonet/<entity>`), partitioned by month
of `dateModified` with the month in progress included (`sync_partitions.py`), so a run for every
tenant is one run. The window comes from `windows.choose_window`: the month in progress syncs from
the high-water mark, a past month (or a range: one run per backfill) re-reads its window, config can
ask for an explicit window or a full read. A read to now also records the months it covered that the
instance does not show yet (the initial load: every month since the first). The tenant's store lease
keeps every other writer out meanwhile.

The outputs are optional: a delta that changed nothing materializes nothing (`tenant_sync.py`). The
CLI's `sync`, the nightly full read and backfills run these assets; the minute schedule runs the
shard steps of `inbound_shards.py`, whose events grow with changes only.
"""

# No `from __future__ import annotations`: Dagster reads the annotations of the decorated functions.
from collections.abc import Iterator
from datetime import datetime

from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetsDefinition,
    AssetSpec,
    BackfillPolicy,
    Config,
    Failure,
    MaterializeResult,
    ResourceParam,
    multi_asset,
)
from pydantic import Field

from sonet_pipeline.assets.column_schemas import column_schema_metadata
from sonet_pipeline.assets.freshness import ENTITY_FRESHNESS
from sonet_pipeline.assets.inbound_checks import check_specs, result_key
from sonet_pipeline.assets.progress import step_progress
from sonet_pipeline.assets.sync_partitions import SYNC_PARTITIONS, coverage_events, partition_key_for
from sonet_pipeline.assets.tenant_sync import Request, inbound_key, sync_status_key, sync_tenant
from sonet_pipeline.common.clock import Clock
from sonet_pipeline.config import settings
from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.resources.leases import LeaseResource
from sonet_pipeline.resources.run_guard import RunGuardResource
from sonet_pipeline.resources.sonet import SonetResource
from sonet_pipeline.resources.store import StoreResource
from sonet_pipeline.sonet.entities import SYNCED


class SyncConfig(Config):
    """Optional: an explicit window (both bounds, ISO-8601 with an offset) or a full read."""

    modified_from: str | None = Field(default=None, description="read from here (plus the lookback)")
    modified_to: str | None = Field(default=None, description="read up to here, exclusive")
    full: bool = Field(default=False, description="read everything: the periodic reconciliation")


__all__ = ["SYNC_PARTITIONS", "SyncConfig", "build_tenant_sync", "inbound_key", "partition_key_for", "sync_op_name"]


def sync_op_name(tenant: str) -> str:
    return f"{tenant}__sonet_sync"


def sync_status_spec(tenant: Tenant) -> AssetSpec:
    """The tenant's sync status: observed by every successful sync, never materialized."""
    return AssetSpec(
        sync_status_key(tenant.name),
        group_name=tenant.name,
        description=f"When company {tenant.sonet.company} was last synced, what changed and how far behind "
        "Sonet its store is: one observation per successful sync (none when a sync fails). Its "
        "`freshness_check` fails when the last successful sync is older than three sync cadences.",
        owners=tenant.asset_owners(),
    )


def build_tenant_sync(tenant: Tenant) -> AssetsDefinition:
    store_kind = "PostgreSQL" if settings.production() else "DuckDB"  # what StoreResource opens (definitions.py)
    specs = [
        AssetSpec(
            inbound_key(tenant.name, name),
            group_name=tenant.name,
            description=f"Sonet {name} of company {tenant.sonet.company}: the latest state per key, "
            f"DELETED and PASSIVE included, in the tenant's {store_kind} store. Materialized when its data "
            "changed and by the nightly full read (its freshness fails after 26 h without one); every sync "
            "is observed on the tenant's `sync` asset.",
            kinds={"postgres" if settings.production() else "duckdb"},
            skippable=True,
            owners=tenant.asset_owners(),
            metadata=column_schema_metadata(name),
            freshness_policy=ENTITY_FRESHNESS,  # the nightly full read materializes every entity
        )
        for name in SYNCED
    ]

    @multi_asset(
        name=sync_op_name(tenant.name),
        specs=specs,
        check_specs=check_specs(tenant.name),
        partitions_def=SYNC_PARTITIONS,
        backfill_policy=BackfillPolicy.single_run(),
        can_subset=True,
    )
    def sonet_sync(
        context: AssetExecutionContext,
        config: SyncConfig,
        sonet: SonetResource,
        store: StoreResource,
        leases: LeaseResource,
        run_guard: RunGuardResource,  # tags the run so that a dead one is failed
        clock: ResourceParam[Clock],
    ) -> Iterator[MaterializeResult | AssetCheckResult]:
        request = Request(_partition_window(context), _explicit_window(config), config.full, _partition_label(context))
        selected = [name for name in SYNCED if inbound_key(tenant.name, name) in context.selected_asset_keys]
        # The tenant's store lease stays held while the step's events are written (sync_tenant takes it
        # again as its holder): the next run of the tenant starts after this one's records, and finds
        # the months this read covered recorded.
        with leases.hold(f"store-{tenant.name}", f"sync run {context.run.run_id}"):
            outcome = sync_tenant(
                context.log,
                context.run.run_id,
                tenant,
                request,
                sonet=sonet,
                store=store,
                leases=leases,
                clock=clock,
                entity_names=selected,
                progress=step_progress(context, clock, flow="sync", tenant=tenant.name),
            )
            now = clock.now()
            in_current = context.has_partition_key and context.partition_key == partition_key_for(now)
            for covered in coverage_events(context.instance, outcome, now, reported_in_current=in_current):
                context.log_event(covered)  # the months the read covered, before its figures (the CLI's summary)
            for done in outcome.materializations():  # what was synced stays recorded, even when it failed
                yield MaterializeResult(asset_key=done.asset_key, metadata=done.metadata)
            selected_checks = context.selected_asset_check_keys
            yield from (c for c in outcome.checks if result_key(c) in selected_checks)
            observation = outcome.observation()
            if observation is not None:
                context.log_event(observation)
        if outcome.error is not None:
            raise outcome.error

    return sonet_sync


def _explicit_window(config: SyncConfig) -> tuple[datetime, datetime] | None:
    if config.modified_from is None and config.modified_to is None:
        return None
    if config.modified_from is None or config.modified_to is None:
        raise Failure(description="an explicit window needs both modified_from and modified_to")
    try:
        start, end = datetime.fromisoformat(config.modified_from), datetime.fromisoformat(config.modified_to)
    except ValueError as exc:
        raise Failure(description=f"the window's bounds must be ISO-8601 timestamps: {exc}") from None
    if start.tzinfo is None or end.tzinfo is None:
        raise Failure(description="the window's bounds need a UTC offset, e.g. 2026-11-28T04:38:00Z")
    return start, end


def _partition_window(context: AssetExecutionContext) -> tuple[datetime, datetime] | None:
    if not context.has_partition_key and not context.has_partition_key_range:
        return None
    window = context.partition_time_window
    return window.start, window.end


def _partition_label(context: AssetExecutionContext) -> str:
    if context.has_partition_key_range:
        keys = context.partition_key_range
        return f"{keys.start}..{keys.end}"
    return context.partition_key if context.has_partition_key else ""
