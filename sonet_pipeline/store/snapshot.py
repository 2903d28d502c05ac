"""Reading a tenant's published snapshot: the parquet files and manifest `publish_snapshot` writes.

A snapshot lives in any `Blobs`: a folder under the data dir (the embedded default) or a PostgreSQL
table (production, `factory.open_snapshot`), so a reader on any host reads what the sync published.
Any process may read it while the sync writes the store and replaces the files: each file is replaced
whole (a folder: renamed over the old one; PostgreSQL: one row), so a reader sees the old or the new
version of it, never a torn one; the manifest is written after the files it describes.

DuckDB opens a file several times in one query (its metadata at bind, its data at scan), so a reader
first opens the file itself and hands DuckDB that open file (`/dev/fd/N`): every open of the query then
reaches the same version, however often it is replaced. A file of another place is first fetched whole
into a temporary file of this process (deleted when the read ends), and read the same way. Every read
uses its own in-memory DuckDB connection, so one `Snapshot` may serve several threads. A snapshot not
yet published reads as empty, never as an error.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from sonet_pipeline.common.blobs import Blobs, FolderBlobs
from sonet_pipeline.sonet.entities import BOOLEAN, DATETIME, INTEGER, JSON, Entity
from sonet_pipeline.store.records import as_entity, format_instant, to_graphql
from sonet_pipeline.store.sql_store import MANIFEST
from sonet_pipeline.store.tables import META, q

__all__ = ["MANIFEST", "PART_ROWS", "SHARED_VALUES", "Snapshot"]

_BATCH = 2_000
_PANDAS_TYPE = {BOOLEAN: "boolean", INTEGER: "Int64", DATETIME: "datetime64[us, UTC]"}  # others: "str"
#: The DuckDB type of each kind's column in a snapshot the store wrote (`sql_store.sql_type`).
_DUCKDB_TYPE = {BOOLEAN: "BOOLEAN", INTEGER: "BIGINT", DATETIME: "TIMESTAMP WITH TIME ZONE"}  # others: VARCHAR
#: Distinct texts a column shares within one read before it stops (a key, an EAN: nothing to share).
SHARED_VALUES = 10_000
#: About how many records one read of `Snapshot.records_in_parts` sorts and holds.
PART_ROWS = 50_000


class Snapshot:
    def __init__(self, location: Blobs | Path | str) -> None:
        """The snapshot in `location`: a `Blobs`, or a folder's path."""
        self.blobs = location if isinstance(location, Blobs) else FolderBlobs(location)

    def describe(self) -> str:
        """Where the snapshot is (`file:///...`, `postgresql://schema.table/...`)."""
        return self.blobs.describe()

    def manifest(self) -> dict[str, Any] | None:
        """What the last complete publish wrote (counts, high-water marks, published_at); None before one."""
        data = self.blobs.get(MANIFEST)
        if data is None:
            return None
        manifest: dict[str, Any] = json.loads(data)
        return manifest

    def frame(self, entity: Entity | str) -> pd.DataFrame:
        """The entity's latest records with the store's bookkeeping columns, ordered by key."""
        entity = as_entity(entity)
        with self._pinned(entity) as path:
            if path is None:
                return _empty(entity)
            with _connect() as con:
                return con.execute(f"SELECT * FROM read_parquet(?) ORDER BY {q(entity.key)}", [path]).df()

    def columns(self, entity: Entity | str, names: list[str]) -> list[tuple[Any, ...]]:
        """The given columns (fields or bookkeeping, e.g. `_hash`) of every record, as stored, ordered by key."""
        entity = as_entity(entity)
        with self._pinned(entity) as path:
            if path is None:
                return []
            with _connect() as con:
                selected = ", ".join(q(name) for name in names)
                return con.execute(
                    f"SELECT {selected} FROM read_parquet(?) ORDER BY {q(entity.key)}", [path]
                ).fetchall()

    def records(
        self, entity: Entity | str, keys: list[str] | None = None, *, order: tuple[str, ...] = ()
    ) -> Iterator[dict[str, Any]]:
        """Each record in the contract's shape (`to_graphql`), ordered by key (Unicode code points), or
        by the fields `order` names first (nulls last); with `keys`, only the records with those keys.

        Converted a batch's column at a time: only DateTimes and JSON need converting when the columns
        have the store's types (else each row goes through `to_graphql`). Equal texts of a column are
        one shared object while the column has at most `SHARED_VALUES` distinct ones (status, unit,
        product group, description...): 100,000 items then take some 70 MB less."""
        entity = as_entity(entity)
        with self._pinned(entity) as path:
            if path is None:
                return
            with _connect() as con:
                where = None if keys is None else (f"{q(entity.key)} IN (SELECT unnest(?))", [keys])
                yield from _read(con, entity, path, where, order, _shared(entity))

    def records_in_parts(
        self, entity: Entity | str, field: str, *, order: tuple[str, ...] = (), part_rows: int = PART_ROWS
    ) -> Iterator[dict[str, Any]]:
        """`records(entity, order=(field, *order))`, the same records in the same order, read a part at a
        time: consecutive values of `field` (a price list, a model...) of about `part_rows` records in
        all (a value with more is a part alone; nulls, last, one part). Each read sorts and holds only
        its part: 300,000 price list lines in 10 lists peak some 40 MB lower than in one read
        (bench/README.md, "Price lists at scale"). Every part reads the same version of the file."""
        entity = as_entity(entity)
        with self._pinned(entity) as path:
            if path is None:
                return
            with _connect() as con:
                counted = con.execute(
                    f"SELECT {q(field)}, count(*) FROM read_parquet(?) GROUP BY ALL ORDER BY ALL", [path]
                ).fetchall()
                shared = _shared(entity)
                for first, last in _parts(counted, part_rows):
                    where: tuple[str, list[Any]] = (
                        (f"{q(field)} IS NULL", []) if first is None else (f"{q(field)} BETWEEN ? AND ?", [first, last])
                    )
                    yield from _read(con, entity, path, where, (field, *order), shared)

    @contextmanager
    def _pinned(self, entity: Entity) -> Iterator[str | None]:
        """The entity's file as it is now, held open while DuckDB reads it; None when there is none."""
        name = f"{entity.name}.parquet"
        if isinstance(self.blobs, FolderBlobs):
            with _pinned_file(self.blobs.folder / name) as path:
                yield path
            return
        data = self.blobs.get(name)
        if data is None:
            yield None
            return
        with tempfile.TemporaryFile(prefix="sonet-snapshot-") as copy:  # gone when closed, or if we die
            copy.write(data)
            copy.flush()
            yield f"/dev/fd/{copy.fileno()}"


def _read(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    path: str,
    where: tuple[str, list[Any]] | None,
    order: tuple[str, ...],
    shared: list[dict[Any, Any] | None],
) -> Iterator[dict[str, Any]]:
    """The records of the file at `path` that `where` (a condition and its values) keeps, ordered by
    `order` then key, converted as `Snapshot.records` describes (`shared`: `_converted`'s)."""
    names = entity.field_names
    selected = ", ".join(q(name) for name in names)
    condition, params = ("", [path]) if where is None else (f" WHERE {where[0]}", [path, *where[1]])
    ordered = ", ".join(q(name) for name in (*order, entity.key))
    result = con.execute(f"SELECT {selected} FROM read_parquet(?){condition} ORDER BY {ordered}", params)
    types = [str(column[1]) for column in result.description]
    if types != [_DUCKDB_TYPE.get(field.kind, "VARCHAR") for field in entity.fields]:
        while rows := result.fetchmany(_BATCH):
            for row in rows:
                yield to_graphql(entity, dict(zip(names, row, strict=True)))
        return
    while rows := result.fetchmany(_BATCH):
        columns = _converted(entity, rows, shared)
        yield from [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def _shared(entity: Entity) -> list[dict[Any, Any] | None]:
    """Per field, the texts a read shares (`_converted`): texts and decimals (VARCHAR); None for the rest."""
    return [None if field.kind in (BOOLEAN, INTEGER, DATETIME, JSON) else {} for field in entity.fields]


def _parts(counted: list[tuple[Any, int]], part_rows: int) -> Iterator[tuple[Any, Any]]:
    """The first and last value of each part of `counted` ((value, records), in order, a null last): runs of
    consecutive values of up to `part_rows` records, a value with more alone; the null alone."""
    first = last = None
    rows = 0
    for value, count in counted:
        if rows and (value is None or rows + count > part_rows):
            yield first, last
            rows = 0
        if not rows:
            first = value
        last, rows = value, rows + count
        if value is None:
            yield None, None
            rows = 0
    if rows:
        yield first, last


def _converted(entity: Entity, rows: list[tuple[Any, ...]], shared: list[dict[Any, Any] | None]) -> list[Any]:
    """The batch's columns as `to_graphql` gives their values, from columns of the store's types.

    `shared` holds per text column the texts met so far (None: not shared); a column that passes
    `SHARED_VALUES` stops sharing for the rest of the read."""
    columns: list[Any] = list(zip(*rows, strict=True))
    for position, field in enumerate(entity.fields):
        column = columns[position]
        if field.kind == DATETIME:
            columns[position] = [None if value is None else format_instant(value) for value in column]
        elif field.kind == JSON:
            columns[position] = [None if value is None else json.loads(value) for value in column]
        elif (seen := shared[position]) is not None:
            columns[position] = [seen.setdefault(value, value) for value in column]
            if len(seen) > SHARED_VALUES:
                shared[position] = None
    return columns


@contextmanager
def _pinned_file(path: Path) -> Iterator[str | None]:
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
    # One thread sorts a snapshot as fast for a reader that converts rows in Python, with less memory
    # (100,000 items: 12 MB less at the peak of a shop step, bench/shop_model.py).
    con.execute("SET threads = 1")
    return con


def _empty(entity: Entity) -> pd.DataFrame:
    columns = {f.name: pd.Series(dtype=_PANDAS_TYPE.get(f.kind, "str")) for f in entity.fields}
    for name, sql_type in META.items():
        columns[name] = pd.Series(dtype="datetime64[us, UTC]" if sql_type == "TIMESTAMPTZ" else "str")
    return pd.DataFrame(columns)
