"""Inbound: each tenant's Sonet items, customers, segments and accepted sales orders, synced into its store.

One step per tenant materializes its three assets (`<tenant>/sonet/<entity>`), hourly-partitioned by
`dateModified` with the hour in progress included, so a minute's run for every tenant is one run.
The window comes from `delta.choose_window`: the current hour syncs from the high-water mark, a
past hour (or a range: one run per backfill) re-reads its window, config can ask for an explicit
window or a full read. The tenant's store lease keeps every other writer out meanwhile.
"""

# No `from __future__ import annotations`: Dagster reads the annotations of the decorated functions.
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    BackfillPolicy,
    Config,
    Failure,
    HourlyPartitionsDefinition,
    MaterializeResult,
    MetadataValue,
    ResourceParam,
    multi_asset,
)
from pydantic import Field

from sonet_pipeline.assets.inbound_checks import check_results, check_specs
from sonet_pipeline.common.clock import Clock
from sonet_pipeline.config import settings
from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.inbound.sync import EntitySync, sync_entity
from sonet_pipeline.inbound.windows import choose_window
from sonet_pipeline.resources.leases import LeaseResource
from sonet_pipeline.resources.run_guard import RunGuardResource
from sonet_pipeline.resources.sonet import SonetResource
from sonet_pipeline.resources.store import StoreResource
from sonet_pipeline.sonet.entities import SYNCED, entity
from sonet_pipeline.sonet.query import SonetAuthError, SonetQueryClient
from sonet_pipeline.store import Store, quality
from sonet_pipeline.store.publication_gate import Verdict

SyncEvent = MaterializeResult | AssetCheckResult

#: One partitions definition for every tenant, so one run can carry all tenants' current hour.
SYNC_PARTITIONS = HourlyPartitionsDefinition(start_date="2025-01-01-00:00", end_offset=1)


def partition_key_for(instant: datetime) -> str:
    """The key of the hourly partition holding `instant` (the hour in progress for now)."""
    return instant.astimezone(UTC).strftime("%Y-%m-%d-%H:00")


class SyncConfig(Config):
    """Optional: an explicit window (both bounds, ISO-8601 with an offset) or a full read."""

    modified_from: str | None = Field(default=None, description="read from here (plus the lookback)")
    modified_to: str | None = Field(default=None, description="read up to here, exclusive")
    full: bool = Field(default=False, description="read everything: the periodic reconciliation")


def inbound_key(tenant: str, entity_name: str) -> AssetKey:
    return AssetKey([tenant, "sonet", entity_name])


def sync_op_name(tenant: str) -> str:
    return f"{tenant}__sonet_sync"


def build_tenant_sync(tenant: Tenant) -> AssetsDefinition:
    store_kind = "PostgreSQL" if settings.production() else "DuckDB"  # what StoreResource opens (definitions.py)
    specs = [
        AssetSpec(
            inbound_key(tenant.name, name),
            group_name=tenant.name,
            description=f"Sonet {name} of company {tenant.sonet.company}: the latest state per key, "
            f"DELETED and PASSIVE included, in the tenant's {store_kind} store.",
            kinds={"postgres" if settings.production() else "duckdb"},
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
    ) -> Iterator[SyncEvent]:
        explicit = _explicit_window(config)
        partition = _partition_window(context)
        selected = [name for name in SYNCED if inbound_key(tenant.name, name) in context.selected_asset_keys]
        owner = f"sync run {context.run.run_id}"
        with (
            leases.hold(f"store-{tenant.name}", owner),
            store.writer(tenant.name) as writer,
            sonet.query_client(tenant.name, clock) as client,
        ):
            synced: list[tuple[str, dict[str, MetadataValue]]] = []
            try:
                for name in selected:
                    metadata = _sync_one(context, tenant, name, config, partition, explicit, client, writer, clock)
                    synced.append((name, metadata))
            except Exception:
                yield from _materialized(tenant.name, synced, None)  # what was synced stays recorded
                raise
            # An entity's snapshot file moves only when it passes the blocking rules (publication_gate).
            with quality.Tables(writer) as tables:
                verdict = store.publish(tenant.name, writer, tables)
                if not verdict.passed:
                    held = [name for name in SYNCED if verdict.held(name)]
                    context.log.error(
                        "%s: snapshot of %s held back at the last state that passed: %s",
                        tenant.name,
                        ", ".join(held),
                        verdict.describe(),
                    )
                yield from _materialized(tenant.name, synced, verdict)
                yield from check_results(context, tenant.name, selected, tables, verdict)

    return sonet_sync


def _sync_one(
    context: AssetExecutionContext,
    tenant: Tenant,
    name: str,
    config: SyncConfig,
    partition: tuple[datetime, datetime] | None,
    explicit: tuple[datetime, datetime] | None,
    client: SonetQueryClient,
    writer: Store,
    clock: Clock,
) -> dict[str, MetadataValue]:
    """Sync one entity into the store; its materialization's metadata."""
    spec = entity(name)
    window = choose_window(
        high_water_mark=writer.high_water_mark(name),
        lookback=timedelta(seconds=tenant.lookback_seconds),
        now=clock.now(),
        partition=partition,
        explicit=explicit,
        full=config.full,
    )
    context.log.info("%s %s: reading %s", tenant.name, name, window.describe())
    before = client.stats.as_dict()
    try:
        result = sync_entity(
            client,
            writer,
            spec,
            window,
            run_id=context.run.run_id,
            partition=_partition_label(context),
            clock=clock,
        )
    except SonetAuthError as exc:
        raise Failure(description=str(exc), allow_retries=False) from None
    _log_result(context, tenant.name, result)
    return _metadata(result, _since(client.stats.as_dict(), before), clock.now(), writer.count(name))


def _materialized(
    tenant: str, synced: list[tuple[str, dict[str, MetadataValue]]], verdict: Verdict | None
) -> Iterator[MaterializeResult]:
    for name, metadata in synced:
        extra = {} if verdict is None else _snapshot_metadata(verdict, name)
        yield MaterializeResult(asset_key=inbound_key(tenant, name), metadata={**metadata, **extra})


def _snapshot_metadata(verdict: Verdict, entity_name: str) -> dict[str, MetadataValue]:
    """Whether the entity's snapshot file, the one readers use, moved; else which blocking rules held it."""
    held = verdict.held(entity_name)
    metadata: dict[str, MetadataValue] = {"snapshot_held": MetadataValue.bool(held)}
    if held:
        metadata["held_by"] = MetadataValue.text(verdict.describe())
    return metadata


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


def _log_result(context: AssetExecutionContext, tenant: str, result: EntitySync) -> None:
    context.log.info(
        "%s %s: %d pages, %d fetched, %d inserted, %d updated, %d deleted",
        tenant,
        result.entity,
        result.pages,
        result.counts.fetched,
        result.counts.inserted,
        result.counts.updated,
        result.counts.deleted,
    )
    if result.vanished:
        context.log.warning(
            "%s %s: %d keys in the store were not in Sonet's full list, e.g. %s",
            tenant,
            result.entity,
            len(result.vanished),
            ", ".join(result.vanished[:5]),
        )


def _since(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {name: value - before.get(name, 0) for name, value in after.items()}


def _metadata(result: EntitySync, stats: dict[str, float], now: datetime, in_store: int) -> dict[str, MetadataValue]:
    metadata: dict[str, MetadataValue] = {
        "window": MetadataValue.text(result.window.describe()),
        "pages": MetadataValue.int(result.pages),
        "fetched": MetadataValue.int(result.counts.fetched),
        "inserted": MetadataValue.int(result.counts.inserted),
        "updated": MetadataValue.int(result.counts.updated),
        "unchanged": MetadataValue.int(result.counts.unchanged),
        "deleted": MetadataValue.int(result.counts.deleted),
        "stale_ignored": MetadataValue.int(result.counts.stale),
        "records_in_store": MetadataValue.int(in_store),
        "retries": MetadataValue.int(int(stats.get("retries", 0))),
        "throttled_429": MetadataValue.int(int(stats.get("throttled", 0))),
        "unavailable_5xx": MetadataValue.int(int(stats.get("unavailable", 0))),
    }
    if result.high_water_mark is not None:
        metadata["high_water_mark"] = MetadataValue.timestamp(result.high_water_mark)
    lag = result.lag_seconds(now)
    if lag is not None:
        metadata["lag_seconds"] = MetadataValue.float(round(lag, 3))
    if result.window.kind == "full":
        metadata["vanished_keys"] = MetadataValue.int(len(result.vanished))
    return metadata
