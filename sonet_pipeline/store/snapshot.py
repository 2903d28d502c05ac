"""Reading a tenant's published snapshot: the parquet files `TenantStore.publish_snapshot` writes.

Any process may read a snapshot while the sync writes the DuckDB file (which it cannot open) and
replaces the snapshot files: each file is swapped whole by `os.replace`, so a reader sees the old or
the new version of it, never a torn one. DuckDB opens a file several times in one query (its metadata
at bind, its data at scan), so a reader first opens the file itself and hands DuckDB that open file
(`/dev/fd/N`): every open of the query then reaches the same version, however often it is replaced.
Every read uses its own in-memory DuckDB connection, so one `Snapshot` may serve several threads.
A snapshot not yet published reads as empty, never as an error.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from sonet_pipeline.entities import BOOLEAN, DATETIME, INTEGER, Entity
from sonet_pipeline.store.records import as_entity, to_graphql
from sonet_pipeline.store.tenant_store import META, q

MANIFEST = "manifest.json"
_BATCH = 2_000
_PANDAS_TYPE = {BOOLEAN: "boolean", INTEGER: "Int64", DATETIME: "datetime64[us, UTC]"}  # others: "str"


class Snapshot:
    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def path(self, entity: Entity | str) -> Path:
        entity = as_entity(entity)
        return self.directory / f"{entity.name}.parquet"

    def manifest(self) -> dict[str, Any] | None:
        """What the last complete publish wrote (counts, high-water marks, published_at); None before one."""
        try:
            return json.loads((self.directory / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def frame(self, entity: Entity | str) -> pd.DataFrame:
        """The entity's latest records with the store's bookkeeping columns, ordered by key."""
        entity = as_entity(entity)
        with _pinned(self.path(entity)) as path:
            if path is None:
                return _empty(entity)
            with _connect() as con:
                return con.execute(f"SELECT * FROM read_parquet(?) ORDER BY {q(entity.key)}", [path]).df()

    def records(self, entity: Entity | str) -> Iterator[dict[str, Any]]:
        """Each record in the contract's shape (`to_graphql`), ordered by key (Unicode code points)."""
        entity = as_entity(entity)
        names = ", ".join(q(name) for name in entity.field_names)
        with _pinned(self.path(entity)) as path:
            if path is None:
                return
            with _connect() as con:
                result = con.execute(f"SELECT {names} FROM read_parquet(?) ORDER BY {q(entity.key)}", [path])
                while rows := result.fetchmany(_BATCH):
                    for row in rows:
                        yield to_graphql(entity, dict(zip(entity.field_names, row, strict=True)))


@contextmanager
def _pinned(path: Path) -> Iterator[str | None]:
    """The file's current version, held open while DuckDB reads it; None when it does not exist."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        yield None
        return
    try:
        yield f"/dev/fd/{descriptor}"
    finally:
        os.close(descriptor)


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def _empty(entity: Entity) -> pd.DataFrame:
    columns = {f.name: pd.Series(dtype=_PANDAS_TYPE.get(f.kind, "str")) for f in entity.fields}
    for name, sql_type in META.items():
        columns[name] = pd.Series(dtype="datetime64[us, UTC]" if sql_type == "TIMESTAMPTZ" else "str")
    return pd.DataFrame(columns)
