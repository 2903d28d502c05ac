"""One tenant's sync, under its store lease: each entity read into the store, the snapshot published
through its gate, the checks of what changed. Shared by the tenant's multi-asset (`inbound.py`: the
CLI, the nightly full read, backfills) and the minute sync's shard steps (`inbound_shards.py`).

What Dagster records grows with changes, not with tenants × minutes: an entity whose data did not
change is not materialized and its checks are not evaluated (the gate still judges the snapshot every
time, and a held entity is reported every time); a read other than the routine delta (initial, full,
an explicit window, a backfill) is always materialized, its figures are what an operator asked for.
Every successful sync is one observation of the tenant's `sync` asset: when, what changed, how far
behind Sonet the store is; Dagster's freshness check judges it (`freshness.py`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dagster import (
    AssetCheckResult,
    AssetKey,
    AssetMaterialization,
    AssetObservation,
    DagsterLogManager,
    Failure,
    MetadataValue,
)

from sonet_pipeline.assets.column_schemas import column_schema_metadata
from sonet_pipeline.assets.inbound_checks import check_results
from sonet_pipeline.assets.progress import EntityProgress
from sonet_pipeline.common.clock import Clock
from sonet_pipeline.common.progress import ProgressReporter
from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.inbound.sync import EntitySync, sync_entity
from sonet_pipeline.inbound.windows import BACKFILL, DELTA, FULL, WINDOW, choose_window
from sonet_pipeline.resources.leases import LeaseResource
from sonet_pipeline.resources.sonet import SonetResource
from sonet_pipeline.resources.store import StoreResource
from sonet_pipeline.sonet.entities import SYNCED, entity
from sonet_pipeline.sonet.query import SonetAuthError, SonetQueryClient
from sonet_pipeline.store import Store, quality
from sonet_pipeline.store.publication_gate import Verdict

_LOG = logging.getLogger(__name__)

#: The last part of the key of each tenant's sync asset, which every successful sync observes.
SYNC_STATUS = "sync"
#: The metadata of an observation that Dagster's freshness checks take as the asset's last update.
LAST_UPDATED = "dagster/last_updated_timestamp"
#: The metadata Dagster shows (and plots) as a table's number of rows.
ROW_COUNT = "dagster/row_count"


def inbound_key(tenant: str, entity_name: str) -> AssetKey:
    return AssetKey([tenant, "sonet", entity_name])


def sync_status_key(tenant: str) -> AssetKey:
    return AssetKey([tenant, "sonet", SYNC_STATUS])


@dataclass(frozen=True)
class Request:
    """What to read: the partition's window (None: not partitioned), an explicit window, or everything."""

    partition: tuple[datetime, datetime] | None = None
    explicit: tuple[datetime, datetime] | None = None
    full: bool = False
    partition_label: str = ""


@dataclass
class Synced:
    name: str
    metadata: dict[str, MetadataValue]
    changed: bool
    #: records inserted or updated (those deleted are among them), and records read
    records_changed: int = 0
    records_fetched: int = 0
    lag_seconds: float | None = None
    #: the window's kind (`inbound/windows.py`): which partitions the read covered (`sync_partitions.py`)
    window_kind: str = ""


@dataclass
class TenantSync:
    """What one tenant's sync did; `error` is what stopped it (what was synced before stays reported)."""

    tenant: str
    synced: list[Synced] = field(default_factory=list)
    verdict: Verdict | None = None
    checks: list[AssetCheckResult] = field(default_factory=list)
    error: BaseException | None = None
    finished_at: datetime | None = None

    def reported(self) -> list[Synced]:
        """The entities to materialize: those that changed, and, once judged, those whose file is held."""
        return [s for s in self.synced if s.changed or (self.verdict is not None and self.verdict.held(s.name))]

    def materializations(self, partition: str | None = None) -> list[AssetMaterialization]:
        """The reported entities' materializations, in `partition` when given (an op's events)."""
        extra = {} if self.verdict is None else {s.name: _snapshot_metadata(self.verdict, s.name) for s in self.synced}
        return [
            AssetMaterialization(
                inbound_key(self.tenant, s.name), metadata={**s.metadata, **extra.get(s.name, {})}, partition=partition
            )
            for s in self.reported()
        ]

    def observation(self) -> AssetObservation | None:
        """The tenant's sync status, for a sync that finished; None for one that failed."""
        if self.error is not None or self.verdict is None or self.finished_at is None:
            return None
        lags = [s.lag_seconds for s in self.synced if s.lag_seconds is not None]
        metadata: dict[str, MetadataValue] = {
            "last_synced": MetadataValue.timestamp(self.finished_at),
            # What Dagster's freshness check reads as the asset's last update (`freshness.py`).
            LAST_UPDATED: MetadataValue.timestamp(self.finished_at),
            "entities_changed": MetadataValue.int(sum(s.changed for s in self.synced)),
            "records_changed": MetadataValue.int(sum(s.records_changed for s in self.synced)),
            "records_fetched": MetadataValue.int(sum(s.records_fetched for s in self.synced)),
            "snapshot": MetadataValue.text("published" if self.verdict.passed else f"held: {self.verdict.describe()}"),
        }
        if lags:
            metadata["lag_seconds"] = MetadataValue.float(round(min(lags), 3))
        return AssetObservation(asset_key=sync_status_key(self.tenant), metadata=metadata)


def sync_tenant(
    log: DagsterLogManager,
    run_id: str,
    tenant: Tenant,
    request: Request,
    *,
    sonet: SonetResource,
    store: StoreResource,
    leases: LeaseResource,
    clock: Clock,
    entity_names: list[str] | None = None,
    progress: ProgressReporter | None = None,
) -> TenantSync:
    """Sync `tenant`'s entities (`entity_names`, default all) under its store lease; never raises.
    `progress` hears each entity's pages and records as they are read (`assets/progress.py`)."""
    outcome = TenantSync(tenant.name)
    names = list(SYNCED) if entity_names is None else entity_names
    try:
        with (
            leases.hold(f"store-{tenant.name}", f"sync run {run_id}"),
            store.writer(tenant.name) as writer,
            sonet.query_client(tenant.name, clock) as client,
        ):
            for name in names:
                outcome.synced.append(_sync_one(log, run_id, tenant, name, request, client, writer, clock, progress))
            # An entity's snapshot file moves only when it passes the blocking rules (publication_gate).
            with quality.Tables(writer) as tables:
                verdict = store.publish(tenant.name, writer, tables)
                outcome.verdict = verdict
                if not verdict.passed:
                    held = [name for name in SYNCED if verdict.held(name)]
                    log.error(
                        "%s: snapshot of %s held back at the last state that passed: %s",
                        tenant.name,
                        ", ".join(held),
                        verdict.describe(),
                    )
                judged = {s.name for s in outcome.reported()}
                outcome.checks = list(check_results(log, tenant.name, judged, tables, verdict))
        outcome.finished_at = clock.now()
    except Exception as exc:  # the caller reports what was synced, then fails the step with it
        outcome.error = exc
    return outcome


def _sync_one(
    log: DagsterLogManager,
    run_id: str,
    tenant: Tenant,
    name: str,
    request: Request,
    client: SonetQueryClient,
    writer: Store,
    clock: Clock,
    progress: ProgressReporter | None = None,
) -> Synced:
    """Sync one entity into the store: its materialization's metadata, and whether its data changed."""
    window = choose_window(
        high_water_mark=writer.high_water_mark(name),
        lookback=timedelta(seconds=tenant.lookback_seconds),
        now=clock.now(),
        partition=request.partition,
        explicit=request.explicit,
        full=request.full,
    )
    _LOG.debug("%s %s: reading %s", tenant.name, name, window.describe())  # the step's stderr, not its events
    before = client.stats.as_dict()
    told = EntityProgress(progress, name, window, in_store=lambda: writer.count(name))
    try:
        result = sync_entity(
            client,
            writer,
            entity(name),
            window,
            run_id=run_id,
            partition=request.partition_label,
            clock=clock,
            on_page=told.page,
        )
    except SonetAuthError as exc:
        raise Failure(description=str(exc), allow_retries=False) from None
    counts = result.counts
    told.finished(result.pages, counts.fetched)
    asked = window.kind in (FULL, WINDOW, BACKFILL)  # an operator's or the nightly read: its figures are wanted
    changed = counts.inserted + counts.updated + counts.deleted > 0 or asked or bool(result.vanished)
    if changed:
        _log_result(log, tenant.name, result)
    now = clock.now()
    metadata = _metadata(result, _since(client.stats.as_dict(), before), now, writer.count(name))
    lag = result.lag_seconds(now)
    return Synced(name, metadata, changed, counts.inserted + counts.updated, counts.fetched, lag, window.kind)


def _snapshot_metadata(verdict: Verdict, entity_name: str) -> dict[str, MetadataValue]:
    """Whether the entity's snapshot file, the one readers use, moved; else which blocking rules held it."""
    held = verdict.held(entity_name)
    metadata: dict[str, MetadataValue] = {"snapshot_held": MetadataValue.bool(held)}
    if held:
        metadata["held_by"] = MetadataValue.text(verdict.describe())
    return metadata


def _log_result(log: DagsterLogManager, tenant: str, result: EntitySync) -> None:
    log.info(
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
        log.warning(
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
        # Dagster's names: the records in the tenant's store now, and their columns (the contract's: on the
        # asset's definition, and with every read but the routine delta, whose events stay ~3 KB smaller).
        ROW_COUNT: MetadataValue.int(in_store),
        **(column_schema_metadata(result.entity) if result.window.kind != DELTA else {}),
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
