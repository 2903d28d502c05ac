"""The tenant store: synced Sonet records in one DuckDB file per tenant, published as parquet snapshots.

Pure core (no Dagster): `records` converts Query API nodes to typed frames and back, `tenant_store`
keeps the latest state, history and sync state, `snapshot` reads what other processes may read, and
`quality` finds records that break the contract's promises.
"""

from __future__ import annotations

from pathlib import Path

from sonet_pipeline.config.settings import data_dir
from sonet_pipeline.store import quality
from sonet_pipeline.store.records import HASH, RecordError, as_entity, format_instant, to_frame, to_graphql
from sonet_pipeline.store.snapshot import Snapshot
from sonet_pipeline.store.tenant_store import TenantStore, UpsertCounts

__all__ = [
    "HASH",
    "RecordError",
    "Snapshot",
    "TenantStore",
    "UpsertCounts",
    "as_entity",
    "format_instant",
    "quality",
    "snapshot_dir",
    "store_path",
    "to_frame",
    "to_graphql",
]


def store_path(tenant: str) -> Path:
    """The tenant's DuckDB file: `<data dir>/store/<tenant>.duckdb`."""
    return data_dir() / "store" / f"{tenant}.duckdb"


def snapshot_dir(tenant: str) -> Path:
    """The tenant's published snapshot: `<data dir>/store/<tenant>/snapshot`."""
    return data_dir() / "store" / tenant / "snapshot"
