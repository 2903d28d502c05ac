"""Data quality rules over a tenant's store, for asset checks: each returns the offending records.

Every function takes a `TenantStore` (or a DuckDB connection holding the same tables) and returns a
list of small dicts naming the record(s) at fault, empty when all is well. Values travel as query
parameters; only identifiers from the contract's Entity specs are written into the SQL, quoted.
"""

from __future__ import annotations

from typing import Any

import duckdb

from sonet_pipeline.sonet.entities import DECIMAL, SYNCED, Entity
from sonet_pipeline.store.records import as_entity
from sonet_pipeline.store.tenant_store import DELETED, TenantStore, q

Source = TenantStore | duckdb.DuckDBPyConnection
Finding = dict[str, Any]

#: A finite decimal number as text: optional sign, digits with an optional fraction, optional exponent.
DECIMAL_PATTERN = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"
_CODES = "'[\"VARCHAR\"]'"
_ATTRIBUTES = '\'[{"name": "VARCHAR", "value": "VARCHAR"}]\''


def duplicate_keys(store: Source, entity: Entity | str) -> list[Finding]:
    """Keys held by more than one row of the entity's latest table."""
    entity = as_entity(entity)
    rows = _rows(
        store,
        f"SELECT {q(entity.key)}, count(*) FROM {q(entity.name)} GROUP BY ALL HAVING count(*) > 1 ORDER BY 1",
    )
    return [{"entity": entity.name, "key": key, "rows": int(n)} for key, n in rows]


def unparseable_decimals(store: Source, entity: Entity | str) -> list[Finding]:
    """Decimal fields whose text is not a number (Sonet sends them as strings, e.g. "59.90")."""
    entity = as_entity(entity)
    found = []
    for name in entity.fields_of(DECIMAL):
        rows = _rows(
            store,
            f"SELECT {q(entity.key)}, {q(name)} FROM {q(entity.name)} "
            f"WHERE {q(name)} IS NOT NULL AND NOT regexp_full_match({q(name)}, ?) ORDER BY 1",
            [DECIMAL_PATTERN],
        )
        found += [{"entity": entity.name, "key": key, "field": name, "value": value} for key, value in rows]
    return found


def unknown_segment_codes(store: Source) -> list[Finding]:
    """Customers (not DELETED) naming a segment code that no segment in the store has."""
    rows = _rows(
        store,
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
        """SELECT "itemCode", "listPrice", "stockBalance" FROM "items"
           WHERE TRY_CAST("listPrice" AS DOUBLE) < 0 OR TRY_CAST("stockBalance" AS DOUBLE) < 0
           ORDER BY 1""",
    )
    return [{"entity": "items", "key": key, "listPrice": price, "stockBalance": stock} for key, price, stock in rows]


def all_findings(store: Source) -> dict[str, list[Finding]]:
    """Every rule at once, by rule name (a rule over one entity runs for each synced entity it applies to)."""
    findings: dict[str, list[Finding]] = {}
    for name in SYNCED:
        findings[f"duplicate_keys.{name}"] = duplicate_keys(store, name)
        findings[f"unparseable_decimals.{name}"] = unparseable_decimals(store, name)
    for rule in (unknown_segment_codes, model_name_disagreements, shared_variant_attributes, negative_price_or_stock):
        findings[rule.__name__] = rule(store)
    return findings


def _rows(store: Source, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    connection = store.connection if isinstance(store, TenantStore) else store
    return connection.execute(sql, params or []).fetchall()
