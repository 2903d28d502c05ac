"""What both tenant stores share: the tables the contract defines and every statement over them, once.

Tables (`tables.py`), created from the contract (`entities()`), columns named as the contract's fields:
- `<entity>`: one row per key with the latest version, plus `_hash`, `_run_id`, `_partition`, `_synced_at`;
- `<entity>_history`: every version a sync brought (inserted or updated), with the same four columns;
- `sync_state`: per entity the high-water mark, the last success (time, run) and the last full read;
- `key_conflicts`: each key a read listed more than once at one `dateModified` with different content
  (`key_conflicts.py`). Kept, like the history.

`SqlStore` keeps the contract's semantics in SQL that DuckDB (`tenant_store.TenantStore`, the embedded
default) and PostgreSQL (`postgres_store.PostgresTenantStore`, production) both run, with `?`
placeholders. A backend gives only a connection's primitives: run a statement, a transaction, a
frame as the table `_incoming`, a table as DuckDB reads it (for frames, Parquet and the quality rules),
and the 64-bit number of a row hash. An upsert's statements are in `upsert.py`.

One process writes a tenant's store at a time: the caller holds the tenant's store lease. Every other
reader reads the snapshot that `publish_snapshot` writes (`snapshot.Snapshot`).
"""

from __future__ import annotations

import json
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import duckdb
import pandas as pd

from sonet_pipeline.common.blobs import Blobs, FolderBlobs
from sonet_pipeline.common.clock import SystemClock
from sonet_pipeline.sonet.entities import Entity, entities
from sonet_pipeline.store.records import HASH, as_entity, format_instant
from sonet_pipeline.store.tables import (
    CONFLICT_COLUMNS,
    KEY_CONFLICTS,
    MODIFIED,
    aware,
    columns_of,
    create_tables,
    history_table,
    q,
    utc,
)
from sonet_pipeline.store.upsert import UpsertCounts, upsert_frame

#: The snapshot's manifest, written after every entity's file.
MANIFEST = "manifest.json"
#: `prune_history`'s word for every entity of the contract.
ALL = "all"
_DIGEST_BITS = (1 << 64) - 1


#: A DuckDB connection, and what to write after FROM in it to read a table.
Readable = tuple[duckdb.DuckDBPyConnection, str]


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
        return upsert_frame(
            self._all,
            self._incoming,
            self._transaction,
            as_entity(entity),
            frame,
            run_id=run_id,
            partition=partition,
            synced_at=synced_at,
        )

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
        return aware(self._scalar(f"SELECT max({q(MODIFIED)}) FROM {q(entity.name)}"))

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
        cutoff = utc(before)
        total = 0
        with self._transaction():
            for entity in chosen:
                history, table, key = history_table(entity), q(entity.name), q(entity.key)
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
            [entity.name, utc(at)],
        )

    def record_success(self, entity: Entity | str, *, run_id: str, at: datetime, full: bool = False) -> None:
        """A sync of `entity` finished; `full` when it read everything (the key set is then complete)."""
        entity = as_entity(entity)
        self._all(
            """INSERT INTO sync_state (entity, last_success_at, last_run_id, last_full_at) VALUES (?, ?, ?, ?)
               ON CONFLICT (entity) DO UPDATE SET last_success_at = excluded.last_success_at,
                   last_run_id = excluded.last_run_id,
                   last_full_at = coalesce(excluded.last_full_at, sync_state.last_full_at)""",
            [entity.name, utc(at), run_id, utc(at) if full else None],
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
        published = format_instant(utc(at) if at else SystemClock().now())
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
        create_tables(self._all, self.table_columns)

    def _frame(self, table: str, entity: Entity, order: str) -> pd.DataFrame:
        with self._readable(table, columns_of(entity)) as (connection, source):
            return connection.execute(f"SELECT * FROM {source} ORDER BY {order}").df()

    def _state(self, entity: Entity | str, column: str) -> datetime | None:
        name = as_entity(entity).name
        return aware(self._scalar(f"SELECT {q(column)} FROM sync_state WHERE entity = ?", [name]))

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self._all(sql, params)
        return rows[0][0] if rows else None
