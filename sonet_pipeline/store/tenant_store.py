"""One DuckDB file per tenant: the embedded default of the tenant store (`sql_store.SqlStore` holds
the tables and every statement; this module, the DuckDB connection under them).

One process writes a tenant's file at a time (DuckDB refuses a second one, even read-only); the caller
holds the lease. Other processes read the parquet snapshot that `publish_snapshot` writes atomically.
Every upsert is one set of bulk statements over the registered DataFrame, in one transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from sonet_pipeline.store.sql_store import SqlStore
from sonet_pipeline.store.tables import q

MEMORY_LIMIT = "128MB"
#: WAL size that triggers a checkpoint. Below a row group (122,880 rows) a checkpoint rewrites the table's
#: open row group and its whole key index, so at DuckDB's 16MB an initial load rewrote its tables every
#: few batches (100,000 items: upserts 2.1 s of CPU -> 1.1 s, plus one checkpoint at close, 0.35 s).
CHECKPOINT_THRESHOLD = "1GB"


class TenantStore(SqlStore):
    """A tenant's DuckDB file, open for writing by this process (one thread at a time)."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection
        connection.execute("SET TimeZone = 'UTC'")
        # DuckDB keeps memory it has freed; a cap keeps a 100,000-item load under 400 MB of RSS
        # (bench/inbound_initial.py: peak 333 -> 271 MB).
        connection.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        connection.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
        super().__init__()

    @classmethod
    def open(cls, path: Path | str) -> TenantStore:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(duckdb.connect(str(path)))

    def close(self) -> None:
        self.connection.close()

    def table_columns(self, table: str) -> list[str]:
        try:
            return [str(row[0]) for row in self.connection.execute(f"DESCRIBE {q(table)}").fetchall()]
        except duckdb.CatalogException:
            return []

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql, list(params)).fetchall()  # fetchall completes the result

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self.connection.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            with contextlib.suppress(duckdb.Error):  # keep the original error
                self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    @contextlib.contextmanager
    def _incoming(self, frame: pd.DataFrame, types: dict[str, str]) -> Iterator[None]:
        self.connection.register("_incoming", frame)  # read where it is: the casts give the types
        try:
            yield
        finally:
            self.connection.unregister("_incoming")

    @contextlib.contextmanager
    def _readable(self, table: str, types: dict[str, str]) -> Iterator[tuple[duckdb.DuckDBPyConnection, str]]:
        yield self.connection, f"(SELECT {', '.join(q(name) for name in types)} FROM {q(table)})"

    def _hash_bits(self, column: str) -> str:
        return f"CAST('0x' || substr({column}, 1, 16) AS UBIGINT)"
