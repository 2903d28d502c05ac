"""Quality rules for asset checks: each finds the problems planted in a store and names the records.

Every test runs on both backends (`backend` in conftest.py): the same findings from DuckDB and PostgreSQL."""

from __future__ import annotations

import duckdb

from sonet_pipeline.sonet.entities import entity
from sonet_pipeline.store import SqlStore, quality, to_frame
from tests.store.samples import SYNCED_AT, customer, item, price_line, segment

ITEMS, CUSTOMERS, SEGMENTS = entity("items"), entity("customers"), entity("segments")
LINES = entity("price_list_lines")


def size(value: str) -> list[dict[str, str]]:
    return [{"name": "Size", "value": value}]


def load(store: SqlStore, spec, records: list[dict]) -> None:
    store.upsert(spec, to_frame(spec, records), run_id="r", partition="p", synced_at=SYNCED_AT)


def test_a_clean_store_has_no_findings(store: SqlStore) -> None:
    """Consistent data gives every rule an empty list."""
    load(store, SEGMENTS, [segment("B2B"), segment("VIP")])
    load(store, CUSTOMERS, [customer("C1", ["B2B", "VIP"]), customer("C2", [])])
    load(
        store,
        ITEMS,
        [
            item("M1-42", modelCode="M1", modelName="Boot", variantAttributes=size("42")),
            item("M1-43", modelCode="M1", modelName="Boot", variantAttributes=size("43")),
            item("SOLO"),
            item("OTHER"),
        ],
    )
    assert all(found == [] for found in quality.all_findings(store).values())


def test_unparseable_decimals(store: SqlStore) -> None:
    """Decimal text that is not a number is named by key, field and value; valid spellings and deleted
    records pass."""
    load(
        store,
        ITEMS,
        [
            item("OK1", listPrice="-1.5", stockBalance="1E+3"),
            item("OK2", listPrice=None, stockBalance=".5"),
            item("BAD1", listPrice="59,90"),
            item("BAD2", vatRate="NaN", stockBalance=" 3"),
            item("GONE", listPrice="59,90", status="DELETED"),  # flows nowhere, never corrected
        ],
    )
    assert quality.unparseable_decimals(store, ITEMS) == [
        {"entity": "items", "key": "BAD1", "field": "listPrice", "value": "59,90"},
        {"entity": "items", "key": "BAD2", "field": "vatRate", "value": "NaN"},
        {"entity": "items", "key": "BAD2", "field": "stockBalance", "value": " 3"},
    ]
    load(store, CUSTOMERS, [customer("C1", [], creditLimit="lots")])
    assert quality.unparseable_decimals(store, "customers")[0]["key"] == "C1"


def test_unknown_segment_codes(store: SqlStore) -> None:
    """Customers naming a segment the store lacks are reported per code; DELETED customers are ignored."""
    load(store, SEGMENTS, [segment("B2B")])
    load(
        store,
        CUSTOMERS,
        [
            customer("C1", ["B2B", "GHOST"]),
            customer("C2", ["B2B"]),
            customer("C3", ["NOPE"], status="DELETED"),
            customer("C4", ["ZED", "ALSO"], status="PASSIVE"),
        ],
    )
    assert quality.unknown_segment_codes(store) == [
        {"entity": "customers", "key": "C1", "segmentCode": "GHOST"},
        {"entity": "customers", "key": "C4", "segmentCode": "ALSO"},
        {"entity": "customers", "key": "C4", "segmentCode": "ZED"},
    ]


def test_model_name_disagreements(store: SqlStore) -> None:
    """Items of one model with different (or missing) modelNames are reported per model; DELETED ones are ignored."""
    load(
        store,
        ITEMS,
        [
            item("A1", modelCode="A", modelName="Boot", variantAttributes=size("1")),
            item("A2", modelCode="A", modelName="Boots", variantAttributes=size("2")),
            item("B1", modelCode="B", modelName="Shoe", variantAttributes=size("1")),
            item("B2", modelCode="B", modelName="Old", variantAttributes=size("2"), status="DELETED"),
            item("C1", modelCode="C", modelName="Cap", variantAttributes=size("1")),
            item("C2", modelCode="C", modelName=None, variantAttributes=size("2")),
        ],
    )
    found = quality.model_name_disagreements(store)
    assert [(f["modelCode"], f["keys"]) for f in found] == [("A", ["A1", "A2"]), ("C", ["C1", "C2"])]
    assert found[0]["modelNames"] == ["Boot", "Boots"]


def test_shared_variant_attributes(store: SqlStore) -> None:
    """Two live items of one model with the same attribute set (in any order) are reported together."""
    colour_size = [{"name": "Colour", "value": "red"}, {"name": "Size", "value": "43"}]
    load(
        store,
        ITEMS,
        [
            item("A1", modelCode="A", modelName="Boot", variantAttributes=colour_size),
            item("A2", modelCode="A", modelName="Boot", variantAttributes=list(reversed(colour_size))),
            item("A3", modelCode="A", modelName="Boot", variantAttributes=size("43")),
            item("B1", modelCode="B", modelName="Sock", variantAttributes=size("43")),
            item("B2", modelCode="B", modelName="Sock", variantAttributes=size("43"), status="DELETED"),
            item("X1", variantAttributes=size("43")),
        ],
    )
    assert quality.shared_variant_attributes(store) == [
        {"entity": "items", "modelCode": "A", "variantAttributes": colour_size, "keys": ["A1", "A2"]}
    ]


def test_negative_price_or_stock(store: SqlStore) -> None:
    """Items with a listPrice or stockBalance below zero are named with both values; zero and null pass."""
    load(
        store,
        ITEMS,
        [
            item("OK", listPrice="0.00", stockBalance="-0"),
            item("NOPRICE", listPrice=None),
            item("P", listPrice="-0.01"),
            item("S", stockBalance="-3"),
        ],
    )
    assert quality.negative_price_or_stock(store) == [
        {"entity": "items", "key": "P", "listPrice": "-0.01", "stockBalance": "12"},
        {"entity": "items", "key": "S", "listPrice": "59.90", "stockBalance": "-3"},
    ]


def test_unclear_price_list_lines(store: SqlStore) -> None:
    """ACTIVE lines of items the store lacks are named one by one; ACTIVE lines that tie on list, item,
    quantity break (as numbers: 10 and 10.00 tie) and start of validity are named together. Other lists,
    breaks or starts, and PASSIVE or DELETED lines, do not tie; a line of a DELETED item names a known item."""
    load(store, ITEMS, [item("BOOT"), item("GLOVE"), item("OLD", status="DELETED")])
    spring = "2026-03-01T00:00:00.000Z"
    load(
        store,
        LINES,
        [
            price_line("L01", "BOOT"),
            price_line("L02", "BOOT", minQuantity="10"),
            price_line("L03", "BOOT", minQuantity="10.00", price="44.90"),  # ties with L02
            price_line("L04", "BOOT", validFrom=spring, validTo="2026-04-01T00:00:00.000Z"),
            price_line("L05", "BOOT", validFrom="2026-03-01T02:00:00+02:00"),  # the same start: ties with L04
            price_line("L06", "BOOT", priceListCode="PL-B"),
            price_line("L07", "BOOT", status="PASSIVE"),
            price_line("L08", "GHOST"),
            price_line("L09", "GHOST", status="DELETED"),
            price_line("L10", "OLD"),
            price_line("L11", "GLOVE"),
        ],
    )
    assert quality.unclear_price_list_lines(store) == [
        {
            "entity": "price_list_lines",
            "problem": "tie",
            "keys": ["L02", "L03"],
            "priceListCode": "PL-A",
            "itemCode": "BOOT",
            "minQuantity": "10",
            "validFrom": None,
        },
        {
            "entity": "price_list_lines",
            "problem": "tie",
            "keys": ["L04", "L05"],
            "priceListCode": "PL-A",
            "itemCode": "BOOT",
            "minQuantity": "1",
            "validFrom": spring,
        },
        {
            "entity": "price_list_lines",
            "problem": "unknown item",
            "keys": ["L08"],
            "priceListCode": "PL-A",
            "itemCode": "GHOST",
            "minQuantity": "1",
            "validFrom": None,
        },
    ]
    assert quality.all_findings(store)["unclear_price_list_lines"] == quality.unclear_price_list_lines(store)


def test_duplicate_keys_on_any_connection() -> None:
    """duplicate_keys names keys held by several rows; rules also run on a bare DuckDB connection."""
    con = duckdb.connect()
    con.execute('CREATE TABLE items ("itemCode" VARCHAR)')
    con.execute("INSERT INTO items VALUES ('A'), ('B'), ('A'), ('C'), ('C'), ('C')")
    assert quality.duplicate_keys(con, ITEMS) == [
        {"entity": "items", "key": "A", "rows": 2},
        {"entity": "items", "key": "C", "rows": 3},
    ]
