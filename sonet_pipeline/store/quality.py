"""Data quality rules over a tenant's store, for asset checks: each returns the offending records.

Every function takes a store of either backend, its `Tables`, or a DuckDB connection holding the same
tables, and returns a list of small dicts naming the record(s) at fault, empty when all is well. The
rules are DuckDB SQL, and run on DuckDB whatever the backend: on the DuckDB store's own connection, or
on a copy of the PostgreSQL store's tables in an in-memory DuckDB (`Tables`), so both backends give the
same findings. Values travel as query parameters; only identifiers from the contract's Entity specs
are written into the SQL, quoted.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from types import TracebackType
from typing import Any, Self

import duckdb

from sonet_pipeline.sonet.entities import DECIMAL, SYNCED, Entity
from sonet_pipeline.store.records import as_entity, format_instant
from sonet_pipeline.store.sql_store import SqlStore
from sonet_pipeline.store.tables import DELETED, KEY_CONFLICTS, MODIFIED, STATUS, q
from sonet_pipeline.store.tenant_store import TenantStore

Finding = dict[str, Any]


class Tables:
    """A store's latest tables as the rules read them, each read at most once: give one to several rules.

    The DuckDB store's own tables; another store's (PostgreSQL) copied, on first use, into an in-memory
    DuckDB. A copy is the table as it was then: make another `Tables` after the store changes."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self._copy: duckdb.DuckDBPyConnection | None = None
        self._copied: set[str] = set()

    def connection(self, names: Iterable[str]) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection where the tables of the entities `names` can be read under their names."""
        if isinstance(self.store, TenantStore):
            return self.store.connection
        if self._copy is None:
            self._copy = duckdb.connect()
            self._copy.execute("SET TimeZone = 'UTC'")
        missing = [name for name in names if name not in self._copied]
        self.store.copy_latest(self._copy, missing)
        self._copied.update(missing)
        return self._copy

    def close(self) -> None:
        if self._copy is not None:
            self._copy.close()
            self._copy, self._copied = None, set()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


Source = SqlStore | Tables | duckdb.DuckDBPyConnection

#: A finite decimal number as text: optional sign, digits with an optional fraction, optional exponent.
DECIMAL_PATTERN = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"
_CODES = "'[\"VARCHAR\"]'"
_ATTRIBUTES = '\'[{"name": "VARCHAR", "value": "VARCHAR"}]\''


def duplicate_keys(store: Source, entity: Entity | str) -> list[Finding]:
    """Keys held by more than one row of the entity's latest table, then keys whose latest version Sonet
    listed more than once at its `dateModified` with different content (`KEY_CONFLICTS`): `rows` counts
    the rows, or the different versions listed. A newer version of the key settles its conflict."""
    entity = as_entity(entity)
    rows = _rows(
        store,
        [entity.name],
        f"SELECT {q(entity.key)}, count(*) FROM {q(entity.name)} GROUP BY ALL HAVING count(*) > 1 ORDER BY 1",
    )
    found: list[Finding] = [{"entity": entity.name, "key": key, "rows": int(n)} for key, n in rows]
    if isinstance(store, duckdb.DuckDBPyConnection) and not _has_table(store, KEY_CONFLICTS):
        return found  # a bare connection with the latest tables only
    conflicts = _rows(
        store,
        [entity.name, KEY_CONFLICTS],
        f"""SELECT c."key", c.versions, c.{q(MODIFIED)} FROM {KEY_CONFLICTS} AS c JOIN {q(entity.name)} AS t
            ON t.{q(entity.key)} = c."key" AND t.{q(MODIFIED)} = c.{q(MODIFIED)}
            WHERE c.entity = ? ORDER BY 1""",
        [entity.name],
    )
    found += [
        {"entity": entity.name, "key": key, "rows": int(n), MODIFIED: format_instant(modified)}
        for key, n, modified in conflicts
    ]
    return found


def unparseable_decimals(store: Source, entity: Entity | str) -> list[Finding]:
    """Decimal fields whose text is not a number (Sonet sends them as strings, e.g. "59.90"), in records
    not DELETED: a deleted record flows nowhere, and Sonet never changes it again to correct it."""
    entity = as_entity(entity)
    live, params = (f" AND {q(STATUS)} IS DISTINCT FROM ?", [DELETED]) if STATUS in entity.field_names else ("", [])
    found = []
    for name in entity.fields_of(DECIMAL):
        rows = _rows(
            store,
            [entity.name],
            f"SELECT {q(entity.key)}, {q(name)} FROM {q(entity.name)} "
            f"WHERE {q(name)} IS NOT NULL AND NOT regexp_full_match({q(name)}, ?){live} ORDER BY 1",
            [DECIMAL_PATTERN, *params],
        )
        found += [{"entity": entity.name, "key": key, "field": name, "value": value} for key, value in rows]
    return found


def unknown_segment_codes(store: Source) -> list[Finding]:
    """Customers (not DELETED) naming a segment code that no segment in the store has."""
    rows = _rows(
        store,
        ["customers", "segments"],
        f"""WITH codes AS (
                SELECT "customerNumber" AS key, unnest(from_json("segmentCodes", {_CODES})) AS code
                FROM "customers" WHERE "status" IS DISTINCT FROM ?)
            SELECT key, code FROM codes
            WHERE NOT EXISTS (SELECT 1 FROM "segments" AS s WHERE s."segmentCode" = codes.code)
            ORDER BY key, code""",
        [DELETED],
    )
    return [{"entity": "customers", "key": key, "segmentCode": code} for key, code in rows]


def model_name_disagreements(store: Source) -> list[Finding]:
    """Models whose items (not DELETED) carry different modelNames (a missing name counts as one)."""
    rows = _rows(
        store,
        ["items"],
        """SELECT "modelCode", list(DISTINCT "modelName" ORDER BY "modelName"), list("itemCode" ORDER BY "itemCode")
           FROM "items" WHERE "status" IS DISTINCT FROM ? AND "modelCode" IS NOT NULL
           GROUP BY "modelCode"
           HAVING count(DISTINCT "modelName") + max(CASE WHEN "modelName" IS NULL THEN 1 ELSE 0 END) > 1
           ORDER BY 1""",
        [DELETED],
    )
    return [{"entity": "items", "modelCode": m, "modelNames": names, "keys": keys} for m, names, keys in rows]


def shared_variant_attributes(store: Source) -> list[Finding]:
    """Items (not DELETED) of one model with the same set of variant attributes: the shop cannot tell them apart."""
    rows = _rows(
        store,
        ["items"],
        f"""WITH variants AS (
                SELECT "modelCode" AS model, "itemCode" AS key,
                       list_sort(list_distinct(from_json("variantAttributes", {_ATTRIBUTES}))) AS attributes
                FROM "items" WHERE "status" IS DISTINCT FROM ? AND "modelCode" IS NOT NULL)
            SELECT model, attributes, list(key ORDER BY key) FROM variants
            GROUP BY model, attributes HAVING count(*) > 1 ORDER BY 1, 3""",
        [DELETED],
    )
    return [
        {"entity": "items", "modelCode": model, "variantAttributes": attributes, "keys": keys}
        for model, attributes, keys in rows
    ]


def negative_price_or_stock(store: Source) -> list[Finding]:
    """Items with a negative listPrice or stockBalance."""
    rows = _rows(
        store,
        ["items"],
        """SELECT "itemCode", "listPrice", "stockBalance" FROM "items"
           WHERE TRY_CAST("listPrice" AS DOUBLE) < 0 OR TRY_CAST("stockBalance" AS DOUBLE) < 0
           ORDER BY 1""",
    )
    return [{"entity": "items", "key": key, "listPrice": price, "stockBalance": stock} for key, price, stock in rows]


def unclear_price_list_lines(store: Source) -> list[Finding]:
    """ACTIVE price list lines that do not price as meant: a line of an item the store does not have (it
    prices nothing), and lines that tie on list, item, quantity break (as numbers) and validity (its
    start, which the contract ranks by: of lines with one start the greatest lineId wins, by accident).
    One finding per line of an unknown item and per tie, naming the lines (`keys`)."""
    rows = _rows(
        store,
        ["price_list_lines", "items"],
        """WITH active AS (SELECT * FROM "price_list_lines" WHERE "status" = ?)
           SELECT 'unknown item', [l."lineId"], l."priceListCode", l."itemCode", l."minQuantity", l."validFrom"
           FROM active AS l WHERE NOT EXISTS (SELECT 1 FROM "items" AS i WHERE i."itemCode" = l."itemCode")
           UNION ALL
           SELECT 'tie', list("lineId" ORDER BY "lineId"), "priceListCode", "itemCode", min("minQuantity"),
                  "validFrom"
           FROM active GROUP BY "priceListCode", "itemCode", TRY_CAST("minQuantity" AS DECIMAL(38, 9)), "validFrom"
           HAVING count(*) > 1
           ORDER BY 3, 4, 2""",
        ["ACTIVE"],
    )
    return [
        {
            "entity": "price_list_lines",
            "problem": problem,
            "keys": keys,
            "priceListCode": price_list,
            "itemCode": item,
            "minQuantity": quantity,
            "validFrom": None if valid_from is None else format_instant(valid_from),
        }
        for problem, keys, price_list, item, quantity, valid_from in rows
    ]


def all_findings(store: Source) -> dict[str, list[Finding]]:
    """Every rule at once, by rule name (a rule over one entity runs for each synced entity it applies to)."""
    findings: dict[str, list[Finding]] = {}
    with _tables(store) as tables:
        for name in SYNCED:
            findings[f"duplicate_keys.{name}"] = duplicate_keys(tables, name)
            findings[f"unparseable_decimals.{name}"] = unparseable_decimals(tables, name)
        rules = (
            unknown_segment_codes,
            model_name_disagreements,
            shared_variant_attributes,
            negative_price_or_stock,
            unclear_price_list_lines,
        )
        for rule in rules:
            findings[rule.__name__] = rule(tables)
    return findings


def _tables(store: Source) -> AbstractContextManager[Tables | duckdb.DuckDBPyConnection]:
    """What to hand several rules: a store's tables, read once; a `Tables` or a connection as it is."""
    return Tables(store) if isinstance(store, SqlStore) else nullcontext(store)


def _has_table(connection: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = connection.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name])
    row = found.fetchone()
    return row is not None and int(row[0]) > 0


def _rows(store: Source, tables: list[str], sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    if isinstance(store, SqlStore):
        with Tables(store) as own:
            return own.connection(tables).execute(sql, params or []).fetchall()
    connection = store.connection(tables) if isinstance(store, Tables) else store
    return connection.execute(sql, params or []).fetchall()
