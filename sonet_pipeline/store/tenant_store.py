"""One DuckDB file per tenant: the latest state of every synced record, its history, and the sync state.

Tables, created from the contract (`entities()`), columns named and quoted as the contract's fields:
- `<entity>`: one row per key with the latest version, plus `_hash`, `_run_id`, `_partition`, `_synced_at`;
- `<entity>_history`: every version a sync brought (inserted or updated), with the same four columns;
- `sync_state`: per entity the high-water mark, the last success (time, run) and the last full read.

One process writes a tenant's file at a time (DuckDB refuses a second one, even read-only); the caller
holds the lease. Other processes read the parquet snapshot that `publish_snapshot` writes atomically.
Every upsert is one set of bulk statements over the registered DataFrame, in one transaction.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import astuple, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import duckdb
import numpy as np
import pandas as pd

from sonet_pipeline.common.atomic_file import write_atomically
from sonet_pipeline.common.clock import SystemClock
from sonet_pipeline.sonet.entities import BOOLEAN, DATETIME, INTEGER, Entity, entities
from sonet_pipeline.store.records import HASH, as_entity, format_instant

MODIFIED, STATUS, DELETED = "dateModified", "status", "DELETED"
META = {HASH: "VARCHAR", "_run_id": "VARCHAR", "_partition": "VARCHAR", "_synced_at": "TIMESTAMPTZ"}
_SQL_TYPE = {BOOLEAN: "BOOLEAN", INTEGER: "BIGINT", DATETIME: "TIMESTAMPTZ"}  # others: VARCHAR (exact text)


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


def q(identifier: str) -> str:
    """A quoted SQL identifier (names come from the contract, never from data)."""
    return '"' + identifier.replace('"', '""') + '"'


def sql_type(kind: str) -> str:
    return _SQL_TYPE.get(kind, "VARCHAR")


MEMORY_LIMIT = "128MB"
#: WAL size that triggers a checkpoint. Below a row group (122,880 rows) a checkpoint rewrites the table's
#: open row group and its whole key index, so at DuckDB's 16MB an initial load rewrote its tables every
#: few batches (100,000 items: upserts 2.1 s of CPU -> 1.1 s, plus one checkpoint at close, 0.35 s).
CHECKPOINT_THRESHOLD = "1GB"


class TenantStore:
    """A tenant's DuckDB file, open for writing by this process (one thread at a time)."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection
        connection.execute("SET TimeZone = 'UTC'")
        # DuckDB keeps memory it has freed; a cap keeps a 100,000-item load under 400 MB of RSS
        # (bench/inbound_initial.py: peak 333 -> 271 MB).
        connection.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        connection.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
        self._create_tables()

    @classmethod
    def open(cls, path: Path | str) -> TenantStore:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(duckdb.connect(str(path)))

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

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
        names = [*entity.field_names, HASH]
        typed = ", ".join(f"CAST(i.{q(f.name)} AS {sql_type(f.kind)}) AS {q(f.name)}" for f in entity.fields)
        has_status = STATUS in entity.field_names
        statuses = f"i.{q(STATUS)} AS _new_status, t.{q(STATUS)}" if has_status else "NULL AS _new_status, NULL"
        # The newest version of each key in this batch (a key read twice while it changed during paging);
        # most batches have no key twice, and then need no window over the batch.
        unique = bool(frame[entity.key].is_unique)
        newest = (
            ""
            if unique
            else (f"QUALIFY row_number() OVER (PARTITION BY i.{key} ORDER BY i.{modified} DESC, i._position DESC) = 1")
        )
        incoming = frame[names] if unique else frame[names].assign(_position=np.arange(len(frame)))
        columns = ", ".join(q(c) for c in [*entity.field_names, *META])
        fields = ", ".join(q(c) for c in entity.field_names)
        con = self.connection
        con.register("_incoming", incoming)
        try:
            con.execute("BEGIN TRANSACTION")
            # Each statement costs milliseconds whatever its size, so the batch, its verdicts and its
            # counts come from one scan of the frame, and a write with nothing to write is not sent.
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE _batch AS
                SELECT {typed}, i.{q(HASH)},
                       CASE WHEN t.{key} IS NULL THEN 'inserted'
                            WHEN i.{q(HASH)} = t.{q(HASH)} THEN 'unchanged'
                            WHEN CAST(i.{modified} AS TIMESTAMPTZ) < t.{modified} THEN 'stale'
                            ELSE 'updated' END AS _verdict,
                       {statuses} AS _old_status
                FROM _incoming AS i LEFT JOIN {table} AS t ON t.{key} = CAST(i.{key} AS VARCHAR)
                {newest}""")
            row = con.execute(
                """
                SELECT count(*) FILTER (_verdict = 'inserted'), count(*) FILTER (_verdict = 'updated'),
                       count(*) FILTER (_verdict = 'unchanged'), count(*) FILTER (_verdict = 'stale'),
                       count(*) FILTER (_verdict IN ('inserted', 'updated') AND _new_status = ?
                                        AND _old_status IS DISTINCT FROM ?)
                FROM _batch""",
                [DELETED, DELETED],
            ).fetchall()[0]
            inserted, updated, unchanged, stale, deleted = (int(n) for n in row)
            rows = f"SELECT {fields}, {q(HASH)}, ?, ?, ? FROM _batch WHERE _verdict"
            params = [run_id, partition, _utc(synced_at)]
            if inserted or updated:
                history = q(entity.name + "_history")
                con.execute(f"INSERT INTO {history} ({columns}) {rows} IN ('inserted', 'updated')", params)
            if inserted:
                con.execute(f"INSERT INTO {table} ({columns}) {rows} = 'inserted'", params)
            if updated:
                con.execute(f"INSERT OR REPLACE INTO {table} ({columns}) {rows} = 'updated'", params)
            con.execute("DROP TABLE _batch")
            con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):  # keep the original error
                con.execute("ROLLBACK")
            raise
        finally:
            con.unregister("_incoming")
        return UpsertCounts(len(frame), inserted, updated, unchanged, deleted, stale)

    def keys(self, entity: Entity | str) -> set[str]:
        entity = as_entity(entity)
        return {k for (k,) in self.connection.execute(f"SELECT {q(entity.key)} FROM {q(entity.name)}").fetchall()}

    def fingerprint(self, entity: Entity | str) -> str:
        """A digest of the entity's latest records: it changes exactly when a record is added or changed."""
        entity = as_entity(entity)
        count, digest = self.connection.execute(
            f"SELECT count(*), coalesce(bit_xor(hash({q(HASH)})), 0) FROM {q(entity.name)}"
        ).fetchall()[0]
        return f"{count}-{digest:016x}"

    def count(self, entity: Entity | str) -> int:
        entity = as_entity(entity)
        return int(self._scalar(f"SELECT count(*) FROM {q(entity.name)}"))

    def newest_modified(self, entity: Entity | str) -> datetime | None:
        entity = as_entity(entity)
        return _aware(self._scalar(f"SELECT max({q(MODIFIED)}) FROM {q(entity.name)}"))

    def frame(self, entity: Entity | str) -> pd.DataFrame:
        """The latest table, ordered by key (for snapshots and tests)."""
        entity = as_entity(entity)
        return self.connection.execute(f"SELECT * FROM {q(entity.name)} ORDER BY {q(entity.key)}").df()

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
        self.connection.execute(
            """INSERT INTO sync_state (entity, high_water_mark) VALUES (?, ?)
               ON CONFLICT (entity) DO UPDATE SET high_water_mark = CASE
                   WHEN sync_state.high_water_mark IS NULL OR excluded.high_water_mark > sync_state.high_water_mark
                   THEN excluded.high_water_mark ELSE sync_state.high_water_mark END""",
            [entity.name, _utc(at)],
        )

    def record_success(self, entity: Entity | str, *, run_id: str, at: datetime, full: bool = False) -> None:
        """A sync of `entity` finished; `full` when it read everything (the key set is then complete)."""
        entity = as_entity(entity)
        self.connection.execute(
            """INSERT INTO sync_state (entity, last_success_at, last_run_id, last_full_at) VALUES (?, ?, ?, ?)
               ON CONFLICT (entity) DO UPDATE SET last_success_at = excluded.last_success_at,
                   last_run_id = excluded.last_run_id,
                   last_full_at = coalesce(excluded.last_full_at, sync_state.last_full_at)""",
            [entity.name, _utc(at), run_id, _utc(at) if full else None],
        )

    # --- snapshot ------------------------------------------------------------------------------

    def publish_snapshot(self, directory: Path, *, at: datetime | None = None) -> dict[str, Any]:
        """Write `<entity>.parquet` for every entity, then `manifest.json`, each atomically; return the manifest.

        A reader sees each file whole, old or new; during a publish the files may come from two publishes,
        and the manifest (written last) describes the newest complete one. `at` defaults to now.
        """
        directory.mkdir(parents=True, exist_ok=True)
        described = {}
        for entity in entities().values():
            relation = self.connection.sql(f"SELECT * FROM {q(entity.name)} ORDER BY {q(entity.key)}")
            write_atomically(directory / f"{entity.name}.parquet", relation.write_parquet)
            mark, success = self.high_water_mark(entity), self.last_success(entity)
            described[entity.name] = {
                "file": f"{entity.name}.parquet",
                "count": self.count(entity),
                "fingerprint": self.fingerprint(entity),
                "high_water_mark": format_instant(mark) if mark else None,
                "last_success_at": format_instant(success) if success else None,
            }
        published = format_instant(_utc(at) if at else SystemClock().now())
        manifest = {"published_at": published, "entities": described}
        text = json.dumps(manifest, indent=2, ensure_ascii=False)
        write_atomically(directory / "manifest.json", lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
        return manifest

    # --- internals -----------------------------------------------------------------------------

    def _create_tables(self) -> None:
        con = self.connection
        con.execute(
            """CREATE TABLE IF NOT EXISTS sync_state (entity VARCHAR PRIMARY KEY, high_water_mark TIMESTAMPTZ,
               last_success_at TIMESTAMPTZ, last_run_id VARCHAR, last_full_at TIMESTAMPTZ)"""
        )
        for entity in entities().values():
            columns = {f.name: sql_type(f.kind) for f in entity.fields} | META
            for table, key in ((entity.name, entity.key), (entity.name + "_history", None)):
                body = ", ".join(f"{q(n)} {t}{' PRIMARY KEY' if n == key else ''}" for n, t in columns.items())
                con.execute(f"CREATE TABLE IF NOT EXISTS {q(table)} ({body})")
                present = {r[0] for r in con.execute(f"DESCRIBE {q(table)}").fetchall()}
                for name, column_type in columns.items():  # a field the contract added since
                    if name not in present:
                        con.execute(f"ALTER TABLE {q(table)} ADD COLUMN {q(name)} {column_type}")

    def _state(self, entity: Entity | str, column: str) -> datetime | None:
        name = as_entity(entity).name
        return _aware(self._scalar(f"SELECT {q(column)} FROM sync_state WHERE entity = ?", [name]))

    def _scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        rows = self.connection.execute(sql, params or []).fetchall()  # fetchall completes the result
        return rows[0][0] if rows else None


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: the store takes instants with an offset")
    return value.astimezone(UTC)


def _aware(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None
