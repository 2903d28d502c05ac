"""The tenant store: synced Sonet records per tenant, in DuckDB (embedded) or PostgreSQL (production),
published as parquet snapshots.

Pure core (no Dagster): `records` converts Query API nodes to typed frames and back, `tables` defines
the tables, `sql_store` keeps the latest state (`upsert`, `key_conflicts`), history and sync state
(`tenant_store` on DuckDB, `postgres_store` on PostgreSQL), `snapshot` reads what other processes may
read, `factory` chooses the places from the settings, and `quality` finds records that break the
contract's promises.
"""

from __future__ import annotations

from sonet_pipeline.store import quality
from sonet_pipeline.store.factory import (
    cache_blobs,
    open_snapshot,
    open_store,
    snapshot_blobs,
    snapshot_dir,
    store_path,
    store_schema,
)
from sonet_pipeline.store.records import HASH, RecordError, as_entity, format_instant, to_frame, to_graphql
from sonet_pipeline.store.snapshot import Snapshot
from sonet_pipeline.store.sql_store import ALL, SqlStore
from sonet_pipeline.store.tenant_store import TenantStore
from sonet_pipeline.store.upsert import UpsertCounts

#: Either backend's store: what a sync writes and the retention job prunes.
Store = SqlStore

__all__ = [
    "ALL",
    "HASH",
    "RecordError",
    "Snapshot",
    "SqlStore",
    "Store",
    "TenantStore",
    "UpsertCounts",
    "as_entity",
    "cache_blobs",
    "format_instant",
    "open_snapshot",
    "open_store",
    "quality",
    "snapshot_blobs",
    "snapshot_dir",
    "store_path",
    "store_schema",
    "to_frame",
    "to_graphql",
]
