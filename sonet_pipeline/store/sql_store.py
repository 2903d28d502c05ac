"""What both tenant stores share: the tables the contract defines and every statement over them, once.

Tables, created from the contract (`entities()`), columns named and quoted as the contract's fields:
- `<entity>`: one row per key with the latest version, plus `_hash`, `_run_id`, `_partition`, `_synced_at`;
- `<entity>_history`: every version a sync brought (inserted or updated), with the same four columns;
- `sync_state`: per entity the high-water mark, the last success (time, run) and the last full read;
- `key_conflicts`: each key a read listed more than once at one `dateModified` with different content
  (a faulty Sonet: which version is true cannot be known); the rule `quality.duplicate_keys` names
  those whose latest row is still that ambiguous version. Kept, like the history.

`SqlStore` keeps the contract's semantics in SQL that DuckDB (`tenant_store.TenantStore`, the embedded
default) and PostgreSQL (`postgres_store.PostgresTenantStore`, production) both run, with `?`
placeholders. A backend gives only a connection's primitives: run a statement, a transaction, a
frame as the table `_incoming`, a table as DuckDB reads it (for frames, Parquet and the quality rules),
and the 64-bit number of a row hash. Decimals are text columns: the exact text Sonet sent.

One process writes a tenant's store at a time: the caller holds the tenant's store lease. Every other
reader reads the snapshot that `publish_snapshot` writes (`snapshot.Snapshot`).
"""

from __future__ import annotations

import json
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import astuple, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import duckdb
import numpy as np
import pandas as pd

from sonet_pipeline.common.blobs import Blobs, FolderBlobs
from sonet_pipeline.common.clock import SystemClock
from sonet_pipeline.sonet.entities import BOOLEAN, DATETIME, INTEGER, Entity, entities
from sonet_pipeline.store.records import HASH, as_entity, format_instant

MODIFIED, STATUS, DELETED = "dateModified", "status", "DELETED"
META = {HASH: "VARCHAR", "_run_id": "VARCHAR", "_partition": "VARCHAR", "_synced_at": "TIMESTAMPTZ"}
_SQL_TYPE = {BOOLEAN: "BOOLEAN", INTEGER: "BIGINT", DATETIME: "TIMESTAMPTZ"}  # others: VARCHAR (exact text)
#: The snapshot's manifest, written after every entity's file.
MANIFEST = "manifest.json"
#: The table of keys listed twice at one `dateModified` with different content, and its columns.
KEY_CONFLICTS = "key_conflicts"
CONFLICT_COLUMNS = {
    "entity": "VARCHAR",
    "key": "VARCHAR",
    MODIFIED: "TIMESTAMPTZ",
    "versions": "BIGINT",
    "_run_id": "VARCHAR",
    "_synced_at": "TIMESTAMPTZ",
}
#: `prune_history`'s word for every entity of the contract.
ALL = "all"
_DIGEST_BITS = (1 << 64) - 1


@dataclass(frozen=True)
class UpsertCounts:
    """What one upsert did. `fetched` counts the frame's rows; inserted + updated + unchanged + stale count
    its distinct keys; `deleted` counts those inserted or updated that became DELETED."""

    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    stale: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


#: A DuckDB connection, and what to write after FROM in it to read a table.
Readable = tuple[duckdb.DuckDBPyConnection, str]


def q(identifier: str) -> str:
    """A quoted SQL identifier (names come from the contract, never from data)."""
    return '"' + identifier.replace('"', '""') + '"'


def sql_type(kind: str) -> str:
    return _SQL_TYPE.get(kind, "VARCHAR")


def columns_of(entity: Entity) -> dict[str, str]:
    """Every column of the entity's tables, in order, with its SQL type: the fields, then the bookkeeping."""
    return {f.name: sql_type(f.kind) for f in entity.fields} | META


class SqlStore(ABC):
    """A tenant's store, open for writing by this process (one thread at a time)."""

    def __init__(self) -> None:
        self._create_tables()

    @abstractmethod
    def close(self) -> None:
        """Release the connection(s)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    # --- what a backend gives ------------------------------------------------------------------

    @abstractmethod
    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (`?` placeholders) and answer its rows (none for a statement without)."""

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[Any]:
        """A block whose statements commit together, or roll back together when it raises."""

    @abstractmethod
    def _incoming(self, frame: pd.DataFrame, types: dict[str, str]) -> AbstractContextManager[Any]:
        """`frame` readable as the table `_incoming` (its columns of these SQL types) in the block."""

    @abstractmethod
    def _readable(self, table: str, types: dict[str, str]) -> AbstractContextManager[Readable]:
        """A DuckDB connection and what to write after FROM in it to read `table`'s columns `types`."""

    @abstractmethod
    def _hash_bits(self, column: str) -> str:
        """SQL: the first 64 bits of a row hash (32 hex digits) as a number, for `fingerprint`."""

    @abstractmethod
    def table_columns(self, table: str) -> list[str]:
        """The columns `table` has now, in order (none when there is no such table)."""

    # --- records -------------------------------------------------------------------------------

    def upsert(
        self, entity: Entity | str, frame: pd.DataFrame, *, run_id: str, partition: str, synced_at: datetime
    ) -> UpsertCounts:
        """Bring a frame from `to_frame` in: newest per key wins, older or identical versions change nothing."""
        entity = as_entity(entity)
        missing = [c for c in [*entity.field_names, HASH] if c not in frame.columns]
        if missing:
            raise ValueError(f"frame for {entity.name} lacks columns {missing}: build it with to_frame")
        if frame.empty:
            return UpsertCounts()
        table, key, modified = q(entity.name), q(entity.key), q(MODIFIED)
        types = {f.name: sql_type(f.kind) for f in entity.fields} | {HASH: "VARCHAR"}
        typed = ", ".join(f"CAST(i.{q(f.name)} AS {sql_type(f.kind)}) AS {q(f.name)}" for f in entity.fields)
        has_status = STATUS in entity.field_names
        statuses = f"i.{q(STATUS)} AS _new_status, t.{q(STATUS)}" if has_status else "NULL AS _new_status, NULL"
        # The newest version of each key in this batch (a key read twice while it changed during paging);
        # most batches have no key twice, and then need no sort of the batch.
        unique = bool(frame[entity.key].is_unique)
        distinct, newest = (
            ("", "")
            if unique
            else (
                f"DISTINCT ON (i.{key})",
                f"ORDER BY i.{key}, CAST(i.{modified} AS TIMESTAMPTZ) DESC, i._position DESC",
            )
        )
        incoming = frame[list(types)] if unique else frame[list(types)].assign(_position=np.arange(len(frame)))
        conflicts = [] if unique else key_conflicts(entity, frame)
        columns = ", ".join(q(c) for c in columns_of(entity))
        fields = ", ".join(q(c) for c in entity.field_names)
        replaced = ", ".join(f"{q(c)} = excluded.{q(c)}" for c in columns_of(entity) if c != entity.key)
        with self._incoming(incoming, types if unique else types | {"_position": "BIGINT"}), self._transaction():
            # Each statement costs milliseconds whatever its size, so the batch, its verdicts and its
            # counts come from one scan of the frame, and a write with nothing to write is not sent.
            self._all(f"""
                CREATE TEMP TABLE _batch AS
                SELECT {distinct} {typed}, i.{q(HASH)},
                       CASE WHEN t.{key} IS NULL THEN 'inserted'
                            WHEN i.{q(HASH)} = t.{q(HASH)} THEN 'unchanged'
                            WHEN CAST(i.{modified} AS TIMESTAMPTZ) < t.{modified} THEN 'stale'
                            ELSE 'updated' END AS _verdict,
                       {statuses} AS _old_status
                FROM _incoming AS i LEFT JOIN {table} AS t ON t.{key} = CAST(i.{key} AS VARCHAR)
                {newest}""")
            row = self._all(
                """
                SELECT count(*) FILTER (WHERE _verdict = 'inserted'), count(*) FILTER (WHERE _verdict = 'updated'),
                       count(*) FILTER (WHERE _verdict = 'unchanged'), count(*) FILTER (WHERE _verdict = 'stale'),
                       count(*) FILTER (WHERE _verdict IN ('inserted', 'updated') AND _new_status = ?
                                        AND _old_status IS DISTINCT FROM ?)
                FROM _batch""",
                [DELETED, DELETED],
            )[0]
            inserted, updated, unchanged, stale, deleted = (int(n) for n in row)
            rows = (
                f"SELECT {fields}, {q(HASH)}, CAST(? AS VARCHAR), CAST(? AS VARCHAR), CAST(? AS TIMESTAMPTZ) "
                "FROM _batch WHERE _verdict"
            )
            params = [run_id, partition, _utc(synced_at)]
            history = q(entity.name + "_history")
            if inserted or updated:
                self._all(f"INSERT INTO {history} ({columns}) {rows} IN ('inserted', 'updated')", params)
            if conflicts:  # the history keeps the other versions of a key listed twice too (once each)
                self._all(
                    f"""INSERT INTO {history} ({columns})
                        SELECT DISTINCT ON (i.{key}, i.{q(HASH)}) {typed}, i.{q(HASH)},
                               CAST(? AS VARCHAR), CAST(? AS VARCHAR), CAST(? AS TIMESTAMPTZ)
                        FROM _incoming AS i JOIN _batch AS b ON b.{key} = CAST(i.{key} AS VARCHAR)
                        WHERE i.{q(HASH)} <> b.{q(HASH)} AND CAST(i.{modified} AS TIMESTAMPTZ) = b.{modified}
                          AND NOT EXISTS (SELECT 1 FROM {history} AS h
                                          WHERE h.{key} = b.{key} AND h.{q(HASH)} = i.{q(HASH)})""",
                    params,
                )
            if inserted:
                self._all(f"INSERT INTO {table} ({columns}) {rows} = 'inserted'", params)
            if updated:
                self._all(
                    f"INSERT INTO {table} ({columns}) {rows} = 'updated' ON CONFLICT ({key}) DO UPDATE SET {replaced}",
                    params,
                )
            self._all("DROP TABLE _batch")
            for key_value, modified_at, versions in conflicts:
                self._all(
                    f"""INSERT INTO {KEY_CONFLICTS} ({", ".join(q(c) for c in CONFLICT_COLUMNS)})
                        VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (entity, "key", {modified}) DO UPDATE SET
                        versions = excluded.versions, _run_id = excluded._run_id, _synced_at = excluded._synced_at""",
                    [entity.name, key_value, _utc(modified_at), versions, run_id, _utc(synced_at)],
                )
        return UpsertCounts(len(frame), inserted, updated, unchanged, deleted, stale)

    def keys(self, entity: Entity | str) -> set[str]:
        entity = as_entity(entity)
        return {k for (k,) in self._all(f"SELECT {q(entity.key)} FROM {q(entity.name)}")}

    def fingerprint(self, entity: Entity | str) -> str:
        """A digest of the entity's latest records: it changes exactly when a record is added or changed.
        The same records give the same fingerprint on either backend."""
        entity = as_entity(entity)
        count, digest = self._all(
            f"SELECT count(*), coalesce(bit_xor({self._hash_bits(q(HASH))}), 0) FROM {q(entity.name)}"
        )[0]
        return f"{count}-{int(digest) & _DIGEST_BITS:016x}"

    def count(self, entity: Entity | str) -> int:
        entity = as_entity(entity)
        return int(self._scalar(f"SELECT count(*) FROM {q(entity.name)}"))

    def newest_modified(self, entity: Entity | str) -> datetime | None:
        entity = as_entity(entity)
        return _aware(self._scalar(f"SELECT max({q(MODIFIED)}) FROM {q(entity.name)}"))

    def frame(self, entity: Entity | str) -> pd.DataFrame:
        """The latest table, ordered by key (for snapshots and tests)."""
        entity = as_entity(entity)
        return self._frame(entity.name, entity, q(entity.key))

    def history(self, entity: Entity | str) -> pd.DataFrame:
        """Every version the history keeps, by key, then in the order they were synced."""
        entity = as_entity(entity)
        return self._frame(entity.name + "_history", entity, f"{q(entity.key)}, _synced_at, {q(MODIFIED)}, _hash")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one SQL statement over the store's tables (`?` placeholders): for operators and
        tests; write only through the methods above."""
        return self._all(sql, params)

    def prune_history(self, entity_or_all: Entity | str, before: datetime, *, dry_run: bool = False) -> int:
        """Delete the history versions synced before `before` (`ALL`: of every entity), except each key's
        newest version, the one its latest row holds: the history of the latest state is never lost.
        Answers how many versions went (with `dry_run`, would go, and nothing is deleted)."""
        chosen = list(entities().values()) if entity_or_all == ALL else [as_entity(entity_or_all)]
        cutoff = _utc(before)
        total = 0
        with self._transaction():
            for entity in chosen:
                history, table, key = q(entity.name + "_history"), q(entity.name), q(entity.key)
                old = f"""FROM {history} AS h WHERE h._synced_at < ? AND NOT EXISTS (
                    SELECT 1 FROM {table} AS t WHERE t.{key} = h.{key} AND t._hash = h._hash
                    AND t._synced_at = h._synced_at AND t._run_id IS NOT DISTINCT FROM h._run_id)"""
                found = int(self._all(f"SELECT count(*) {old}", [cutoff])[0][0])
                if found and not dry_run:
                    self._all(f"DELETE {old}", [cutoff])
                total += found
        return total

    # --- sync state ----------------------------------------------------------------------------

    def high_water_mark(self, entity: Entity | str) -> datetime | None:
        return self._state(entity, "high_water_mark")

    def last_success(self, entity: Entity | str) -> datetime | None:
        return self._state(entity, "last_success_at")

    def last_full(self, entity: Entity | str) -> datetime | None:
        return self._state(entity, "last_full_at")

    def advance_high_water_mark(self, entity: Entity | str, at: datetime) -> None:
        """Move the mark to `at` unless it already is at or past it: it never moves back."""
        entity = as_entity(entity)
        self._all(
            """INSERT INTO sync_state (entity, high_water_mark) VALUES (?, ?)
               ON CONFLICT (entity) DO UPDATE SET high_water_mark = CASE
                   WHEN sync_state.high_water_mark IS NULL OR excluded.high_water_mark > sync_state.high_water_mark
                   THEN excluded.high_water_mark ELSE sync_state.high_water_mark END""",
            [entity.name, _utc(at)],
        )

    def record_success(self, entity: Entity | str, *, run_id: str, at: datetime, full: bool = False) -> None:
        """A sync of `entity` finished; `full` when it read everything (the key set is then complete)."""
        entity = as_entity(entity)
        self._all(
            """INSERT INTO sync_state (entity, last_success_at, last_run_id, last_full_at) VALUES (?, ?, ?, ?)
               ON CONFLICT (entity) DO UPDATE SET last_success_at = excluded.last_success_at,
                   last_run_id = excluded.last_run_id,
                   last_full_at = coalesce(excluded.last_full_at, sync_state.last_full_at)""",
            [entity.name, _utc(at), run_id, _utc(at) if full else None],
        )

    # --- snapshot ------------------------------------------------------------------------------

    def publish_snapshot(
        self, target: Blobs | Path, *, at: datetime | None = None, keep: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Write `<entity>.parquet` for every entity, then `manifest.json`, each whole, to `target` (a
        folder or any `Blobs`); return the manifest. The entities `keep` names (with their entries of the
        published manifest) keep their published file and entry as they are.

        A reader sees each file whole, old or new; during a publish the files may come from two publishes,
        and the manifest (written last) describes the newest complete one. `at` defaults to now.
        """
        blobs = target if isinstance(target, Blobs) else FolderBlobs(target)
        described: dict[str, Any] = {}
        with tempfile.TemporaryDirectory(prefix="sonet-snapshot-") as folder:
            for entity in entities().values():
                if keep is not None and entity.name in keep:
                    described[entity.name] = keep[entity.name]
                    continue
                name = f"{entity.name}.parquet"
                path = Path(folder) / name
                with self._readable(entity.name, columns_of(entity)) as (connection, source):
                    connection.sql(f"SELECT * FROM {source} ORDER BY {q(entity.key)}").write_parquet(str(path))
                blobs.put(name, path.read_bytes())
                path.unlink()
                mark, success = self.high_water_mark(entity), self.last_success(entity)
                described[entity.name] = {
                    "file": name,
                    "count": self.count(entity),
                    "fingerprint": self.fingerprint(entity),
                    "high_water_mark": format_instant(mark) if mark else None,
                    "last_success_at": format_instant(success) if success else None,
                }
        published = format_instant(_utc(at) if at else SystemClock().now())
        manifest = {"published_at": published, "entities": described}
        blobs.put(MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False).encode())
        return manifest

    # --- for the quality rules -------------------------------------------------------------------

    def copy_latest(self, connection: duckdb.DuckDBPyConnection, names: Iterable[str]) -> None:
        """Copy the latest tables of the entities `names` (and `KEY_CONFLICTS`, when named) into the DuckDB
        `connection`, under their names."""
        for name in names:
            table, columns = (
                (KEY_CONFLICTS, CONFLICT_COLUMNS) if name == KEY_CONFLICTS else (name, columns_of(as_entity(name)))
            )
            with self._readable(table, columns) as (_, source):
                connection.execute(f"CREATE OR REPLACE TABLE {q(table)} AS SELECT * FROM {source}")

    # --- internals -----------------------------------------------------------------------------

    def _create_tables(self) -> None:
        self._all(
            """CREATE TABLE IF NOT EXISTS sync_state (entity VARCHAR PRIMARY KEY, high_water_mark TIMESTAMPTZ,
               last_success_at TIMESTAMPTZ, last_run_id VARCHAR, last_full_at TIMESTAMPTZ)"""
        )
        conflict_columns = ", ".join(f"{q(n)} {t}" for n, t in CONFLICT_COLUMNS.items())
        self._all(
            f"CREATE TABLE IF NOT EXISTS {KEY_CONFLICTS} ({conflict_columns}, "
            f'PRIMARY KEY (entity, "key", {q(MODIFIED)}))'
        )
        for entity in entities().values():
            columns = columns_of(entity)
            for table, key in ((entity.name, entity.key), (entity.name + "_history", None)):
                body = ", ".join(f"{q(n)} {t}{' PRIMARY KEY' if n == key else ''}" for n, t in columns.items())
                self._all(f"CREATE TABLE IF NOT EXISTS {q(table)} ({body})")
                present = set(self.table_columns(table))
                for name, column_type in columns.items():  # a field the contract added since
                    if name not in present:
                        self._all(f"ALTER TABLE {q(table)} ADD COLUMN {q(name)} {column_type}")

    def _frame(self, table: str, entity: Entity, order: str) -> pd.DataFrame:
        with self._readable(table, columns_of(entity)) as (connection, source):
            return connection.execute(f"SELECT * FROM {source} ORDER BY {order}").df()

    def _state(self, entity: Entity | str, column: str) -> datetime | None:
        name = as_entity(entity).name
        return _aware(self._scalar(f"SELECT {q(column)} FROM sync_state WHERE entity = ?", [name]))

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self._all(sql, params)
        return rows[0][0] if rows else None


def key_conflicts(entity: Entity, frame: pd.DataFrame) -> list[tuple[str, datetime, int]]:
    """`(key, dateModified, versions)` of each key the frame holds more than once at one `dateModified`
    with different content (`_hash`); the same version twice is no conflict."""
    twice = frame[frame.duplicated([entity.key, MODIFIED], keep=False)]
    if twice.empty:
        return []
    versions = twice.groupby([entity.key, MODIFIED], sort=True)[HASH].nunique()
    keys, stamps = versions.index.get_level_values(0), versions.index.get_level_values(1)
    return [
        (str(key), pd.Timestamp(modified).to_pydatetime(), int(n))
        for key, modified, n in zip(keys, stamps, versions, strict=True)
        if n > 1
    ]


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: the store takes instants with an offset")
    return value.astimezone(UTC)


def _aware(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None
