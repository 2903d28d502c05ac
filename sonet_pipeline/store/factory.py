"""Where a tenant's store, its snapshot and the shop's caches live: the one place that chooses.

Embedded (no DSN): the DuckDB file `<data dir>/store/<tenant>.duckdb`, the snapshot in the folder
`<data dir>/store/<tenant>/snapshot`, the caches under `<data dir>/shop/<tenant>`. Production (a
PostgreSQL DSN, `SONET_PIPELINE_POSTGRES_DSN`): everything in the tenant's schema
`sonet_store_<tenant>` of that database, the store's tables, the snapshot's files in its table
`snapshot_files` and the caches in `cache_files`, so nothing a later run needs stays on a worker's disk.

Every function takes the DSN (`dsn=None`: embedded), or by default reads it from the settings; a
Dagster resource passes the DSN bound to it.
"""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Final

from sonet_pipeline.common.blobs import Blobs, FolderBlobs
from sonet_pipeline.config import settings
from sonet_pipeline.config.tenants import TENANT_NAME_PATTERN
from sonet_pipeline.store.snapshot import Snapshot
from sonet_pipeline.store.sql_store import SqlStore
from sonet_pipeline.store.tenant_store import TenantStore

#: A tenant's PostgreSQL schema is this prefix and its name.
SCHEMA_PREFIX = "sonet_store_"
SNAPSHOT_TABLE, CACHE_TABLE = "snapshot_files", "cache_files"
_TENANT = re.compile(TENANT_NAME_PATTERN)


class _Settings(Enum):
    DSN = "the settings' DSN"


#: The default of every `dsn`: `settings.postgres_dsn()` at the call.
FROM_SETTINGS: Final = _Settings.DSN
Dsn = str | None | _Settings


def store_path(tenant: str) -> Path:
    """The tenant's DuckDB file: `<data dir>/store/<tenant>.duckdb`."""
    return settings.data_dir() / "store" / f"{checked_tenant(tenant)}.duckdb"


def snapshot_dir(tenant: str) -> Path:
    """The tenant's published snapshot, embedded: `<data dir>/store/<tenant>/snapshot`."""
    return settings.data_dir() / "store" / checked_tenant(tenant) / "snapshot"


def store_schema(tenant: str) -> str:
    """The tenant's PostgreSQL schema: `sonet_store_<tenant>`."""
    return SCHEMA_PREFIX + checked_tenant(tenant)


def checked_tenant(tenant: str) -> str:
    """`tenant` when it is a tenant's name (the tenants file's rule); else a ValueError naming it."""
    if not _TENANT.fullmatch(tenant):
        raise ValueError(f"not a tenant name (a lower-case letter, then up to 39 of a-z, 0-9, _): {tenant!r}")
    return tenant


def open_store(tenant: str, *, dsn: Dsn = FROM_SETTINGS) -> SqlStore:
    """The tenant's store, open for writing (the caller holds the tenant's store lease)."""
    chosen = _dsn(dsn)
    if chosen is None:
        return TenantStore.open(store_path(tenant))
    from sonet_pipeline.store.postgres_store import PostgresTenantStore  # psycopg only when it is used

    return PostgresTenantStore.open(chosen, store_schema(tenant))


def snapshot_blobs(tenant: str, *, dsn: Dsn = FROM_SETTINGS) -> Blobs:
    """Where the tenant's snapshot is published."""
    chosen = _dsn(dsn)
    if chosen is None:
        return FolderBlobs(snapshot_dir(tenant))
    from sonet_pipeline.common.postgres_blobs import PostgresBlobs  # psycopg only when it is used

    return PostgresBlobs(chosen, schema=store_schema(tenant), table=SNAPSHOT_TABLE)


def open_snapshot(tenant: str, *, dsn: Dsn = FROM_SETTINGS) -> Snapshot:
    """The tenant's published snapshot, for every reader (empty before the first publish)."""
    return Snapshot(snapshot_blobs(tenant, dsn=dsn))


def cache_blobs(tenant: str, *, dsn: Dsn = FROM_SETTINGS) -> Blobs:
    """Where the shop keeps the tenant's caches (e.g. the catalogue's): losing one costs one full build."""
    chosen = _dsn(dsn)
    if chosen is None:
        return FolderBlobs(settings.data_dir() / "shop" / checked_tenant(tenant))
    from sonet_pipeline.common.postgres_blobs import PostgresBlobs  # psycopg only when it is used

    return PostgresBlobs(chosen, schema=store_schema(tenant), table=CACHE_TABLE)


def _dsn(dsn: Dsn) -> str | None:
    return settings.postgres_dsn() if isinstance(dsn, _Settings) else dsn
