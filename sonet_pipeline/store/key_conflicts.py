"""Keys a read listed more than once at one `dateModified` with different content (a faulty Sonet:
which version is true cannot be known).

An upsert finds them in its frame (`key_conflicts`), keeps every such version in the history (once
each, `keep_conflicting_versions`) and records each key in the table `key_conflicts`
(`record_key_conflicts`), which is kept like the history; the rule `quality.duplicate_keys` names the
keys whose latest row is still that ambiguous version. The same version listed twice is no conflict.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from sonet_pipeline.sonet.entities import Entity
from sonet_pipeline.store.records import HASH
from sonet_pipeline.store.tables import (
    CONFLICT_COLUMNS,
    KEY_CONFLICTS,
    MODIFIED,
    Run,
    columns_of,
    history_table,
    q,
    typed_fields,
    utc,
)


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


def keep_conflicting_versions(run: Run, entity: Entity, params: Sequence[Any]) -> None:
    """Into the history, the versions in `_incoming` of a key listed twice that the latest row in `_batch`
    did not take, each once; `params` are the bookkeeping (run id, partition, synced at)."""
    history, key, modified, row_hash = history_table(entity), q(entity.key), q(MODIFIED), q(HASH)
    columns = ", ".join(q(c) for c in columns_of(entity))
    run(
        f"""INSERT INTO {history} ({columns})
            SELECT DISTINCT ON (i.{key}, i.{row_hash}) {typed_fields(entity, "i")}, i.{row_hash},
                   CAST(? AS VARCHAR), CAST(? AS VARCHAR), CAST(? AS TIMESTAMPTZ)
            FROM _incoming AS i JOIN _batch AS b ON b.{key} = CAST(i.{key} AS VARCHAR)
            WHERE i.{row_hash} <> b.{row_hash} AND CAST(i.{modified} AS TIMESTAMPTZ) = b.{modified}
              AND NOT EXISTS (SELECT 1 FROM {history} AS h
                              WHERE h.{key} = b.{key} AND h.{row_hash} = i.{row_hash})""",
        params,
    )


def record_key_conflicts(
    run: Run, entity: Entity, conflicts: list[tuple[str, datetime, int]], *, run_id: str, synced_at: datetime
) -> None:
    """Each conflict as a row of `key_conflicts` (the latest count of versions for a key and instant)."""
    for key_value, modified_at, versions in conflicts:
        run(
            f"""INSERT INTO {KEY_CONFLICTS} ({", ".join(q(c) for c in CONFLICT_COLUMNS)})
                VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (entity, "key", {q(MODIFIED)}) DO UPDATE SET
                versions = excluded.versions, _run_id = excluded._run_id, _synced_at = excluded._synced_at""",
            [entity.name, key_value, utc(modified_at), versions, run_id, utc(synced_at)],
        )
