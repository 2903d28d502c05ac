"""Fixtures of the store tests: every test of the store's contract runs on DuckDB and on PostgreSQL.

PostgreSQL tests use a throwaway schema per test (the tenant's schema in production), dropped
afterwards, with the snapshot in a table of it; where the server is absent they skip (fail under
CI=true), per `require_postgres`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sonet_pipeline.common.blobs import Blobs, FolderBlobs
from sonet_pipeline.common.postgres_blobs import PostgresBlobs
from sonet_pipeline.store import Snapshot, SqlStore, TenantStore
from sonet_pipeline.store.postgres_store import PostgresTenantStore
from tests.conftest import require_postgres


@dataclass
class Backend:
    """Where a test's store lives; `open()` gives another store on it (a reopen, or a second process)."""

    name: str  # "duckdb" or "postgres"
    folder: Path
    dsn: str | None = None
    schema: str = ""
    opened: list[SqlStore] = field(default_factory=list)

    def open(self) -> SqlStore:
        if self.dsn is None:
            store: SqlStore = TenantStore.open(self.folder / "tenant.duckdb")
        else:
            store = PostgresTenantStore.open(self.dsn, self.schema)
        self.opened.append(store)
        return store

    def blobs(self, name: str = "snapshot") -> Blobs:
        """A place for a snapshot: a folder, or a table of the test's schema."""
        if self.dsn is None:
            return FolderBlobs(self.folder / name)
        return PostgresBlobs(self.dsn, schema=self.schema, table=name)

    def snapshot(self, name: str = "snapshot") -> Snapshot:
        return Snapshot(self.blobs(name))


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "duckdb":
        where = Backend("duckdb", tmp_path)
    else:
        where = Backend("postgres", tmp_path, require_postgres(), f"test_store_{uuid.uuid4().hex[:12]}")
    yield where
    for store in where.opened:
        store.close()
    if where.dsn is not None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(where.dsn, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(where.schema)))


@pytest.fixture
def store(backend: Backend) -> SqlStore:
    return backend.open()
