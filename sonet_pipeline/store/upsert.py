"""Bringing a frame of records into a tenant's store: newest per key wins, older or identical versions
change nothing.

One upsert is a few bulk statements in one transaction over the frame as the table `_incoming`: a
temporary `_batch` holds each key's newest version in the frame and its verdict against the latest
table (inserted, updated, unchanged, stale); the verdicts are counted in one scan; the history gets
every inserted or updated version (and each other version of a key listed twice at one
`dateModified`, `key_conflicts.py`); the latest table gets the inserted and updated rows.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import astuple, dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from sonet_pipeline.sonet.entities import Entity
from sonet_pipeline.store.key_conflicts import keep_conflicting_versions, key_conflicts, record_key_conflicts
from sonet_pipeline.store.records import HASH
from sonet_pipeline.store.tables import (
    DELETED,
    MODIFIED,
    STATUS,
    Run,
    columns_of,
    history_table,
    q,
    sql_type,
    typed_fields,
    utc,
)

#: `frame` readable as the table `_incoming` (its columns of these SQL types) in the block.
Incoming = Callable[[pd.DataFrame, dict[str, str]], AbstractContextManager[Any]]


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


def upsert_frame(
    run: Run,
    incoming_table: Incoming,
    transaction: Callable[[], AbstractContextManager[Any]],
    entity: Entity,
    frame: pd.DataFrame,
    *,
    run_id: str,
    partition: str,
    synced_at: datetime,
) -> UpsertCounts:
    """Bring a frame from `to_frame` in: newest per key wins, older or identical versions change nothing.

    `run`, `incoming_table` and `transaction` are the backend's (`SqlStore._all`, `._incoming`,
    `._transaction`)."""
    missing = [c for c in [*entity.field_names, HASH] if c not in frame.columns]
    if missing:
        raise ValueError(f"frame for {entity.name} lacks columns {missing}: build it with to_frame")
    if frame.empty:
        return UpsertCounts()
    table, key, modified = q(entity.name), q(entity.key), q(MODIFIED)
    types = {f.name: sql_type(f.kind) for f in entity.fields} | {HASH: "VARCHAR"}
    typed = typed_fields(entity, "i")
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
    with incoming_table(incoming, types if unique else types | {"_position": "BIGINT"}), transaction():
        # Each statement costs milliseconds whatever its size, so the batch, its verdicts and its
        # counts come from one scan of the frame, and a write with nothing to write is not sent.
        run(
            f"""
            CREATE TEMP TABLE _batch AS
            SELECT {distinct} {typed}, i.{q(HASH)},
                   CASE WHEN t.{key} IS NULL THEN 'inserted'
                        WHEN i.{q(HASH)} = t.{q(HASH)} THEN 'unchanged'
                        WHEN CAST(i.{modified} AS TIMESTAMPTZ) < t.{modified} THEN 'stale'
                        ELSE 'updated' END AS _verdict,
                   {statuses} AS _old_status
            FROM _incoming AS i LEFT JOIN {table} AS t ON t.{key} = CAST(i.{key} AS VARCHAR)
            {newest}""",
            (),
        )
        row = run(
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
        params = [run_id, partition, utc(synced_at)]
        history = history_table(entity)
        if inserted or updated:
            run(f"INSERT INTO {history} ({columns}) {rows} IN ('inserted', 'updated')", params)
        if conflicts:  # the history keeps the other versions of a key listed twice too (once each)
            keep_conflicting_versions(run, entity, params)
        if inserted:
            run(f"INSERT INTO {table} ({columns}) {rows} = 'inserted'", params)
        if updated:
            run(
                f"INSERT INTO {table} ({columns}) {rows} = 'updated' ON CONFLICT ({key}) DO UPDATE SET {replaced}",
                params,
            )
        run("DROP TABLE _batch", ())
        record_key_conflicts(run, entity, conflicts, run_id=run_id, synced_at=synced_at)
    return UpsertCounts(len(frame), inserted, updated, unchanged, deleted, stale)
