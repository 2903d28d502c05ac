"""The tables of a tenant's store, as the contract defines them: names, columns, SQL types, and the
statements that create them (and add a column the contract gained since).

Columns are named and quoted as the contract's fields (`q`). Decimals are text columns: the exact text
Sonet sent. Every instant is stored in UTC (`utc`) and read back aware (`aware`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sonet_pipeline.sonet.entities import BOOLEAN, DATETIME, INTEGER, Entity, entities
from sonet_pipeline.store.records import HASH

MODIFIED, STATUS, DELETED = "dateModified", "status", "DELETED"
META = {HASH: "VARCHAR", "_run_id": "VARCHAR", "_partition": "VARCHAR", "_synced_at": "TIMESTAMPTZ"}
_SQL_TYPE = {BOOLEAN: "BOOLEAN", INTEGER: "BIGINT", DATETIME: "TIMESTAMPTZ"}  # others: VARCHAR (exact text)
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

#: Run one statement (`?` placeholders) and answer its rows: what a backend gives (`SqlStore._all`).
Run = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]


def q(identifier: str) -> str:
    """A quoted SQL identifier (names come from the contract, never from data)."""
    return '"' + identifier.replace('"', '""') + '"'


def sql_type(kind: str) -> str:
    return _SQL_TYPE.get(kind, "VARCHAR")


def columns_of(entity: Entity) -> dict[str, str]:
    """Every column of the entity's tables, in order, with its SQL type: the fields, then the bookkeeping."""
    return {f.name: sql_type(f.kind) for f in entity.fields} | META


def history_table(entity: Entity) -> str:
    """The quoted name of the entity's history table."""
    return q(entity.name + "_history")


def typed_fields(entity: Entity, alias: str) -> str:
    """SQL: each field of the table `alias` cast to its column's type, under its own name."""
    return ", ".join(f"CAST({alias}.{q(f.name)} AS {sql_type(f.kind)}) AS {q(f.name)}" for f in entity.fields)


def create_tables(run: Run, table_columns: Callable[[str], list[str]]) -> None:
    """Create the sync state, the key conflicts and every entity's latest and history tables when absent,
    and add to them any column the contract gained since (`table_columns`: the columns a table has now)."""
    run(
        """CREATE TABLE IF NOT EXISTS sync_state (entity VARCHAR PRIMARY KEY, high_water_mark TIMESTAMPTZ,
           last_success_at TIMESTAMPTZ, last_run_id VARCHAR, last_full_at TIMESTAMPTZ)""",
        (),
    )
    conflict_columns = ", ".join(f"{q(n)} {t}" for n, t in CONFLICT_COLUMNS.items())
    run(
        f'CREATE TABLE IF NOT EXISTS {KEY_CONFLICTS} ({conflict_columns}, PRIMARY KEY (entity, "key", {q(MODIFIED)}))',
        (),
    )
    for entity in entities().values():
        columns = columns_of(entity)
        for table, key in ((entity.name, entity.key), (entity.name + "_history", None)):
            body = ", ".join(f"{q(n)} {t}{' PRIMARY KEY' if n == key else ''}" for n, t in columns.items())
            run(f"CREATE TABLE IF NOT EXISTS {q(table)} ({body})", ())
            present = set(table_columns(table))
            for name, column_type in columns.items():  # a field the contract added since
                if name not in present:
                    run(f"ALTER TABLE {q(table)} ADD COLUMN {q(name)} {column_type}", ())


def utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: the store takes instants with an offset")
    return value.astimezone(UTC)


def aware(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None
