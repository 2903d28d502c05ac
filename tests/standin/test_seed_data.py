"""The stand-in's seed data: deterministic, shaped as the contract's schema, realistic and dirty on purpose.

Pure and fast: no server. Field lists and types come from the contract's `schema.graphql`.
"""

from __future__ import annotations

import re
import time
import tracemalloc
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from functools import cache

import graphql
import pytest

from sonet_pipeline.contract import graphql_sdl
from sonet_pipeline.standin.seed_data import (
    DANGLING_SEGMENT_CODES,
    MISSING_ITEM_CODE,
    SEGMENTS,
    SPECIAL_CUSTOMER_NUMBERS,
    SPECIAL_ITEM_CODES,
    generate_company,
)

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-/]{0,39}")  # the `Code` type of sales-order.xsd
DECIMAL = re.compile(r"-?\d+(\.\d+)?")
Records = list[dict]


@cache
def company(seed: int, items: int, customers: int | None = None) -> tuple[Records, Records, Records]:
    """(items, customers, segments) as lists; shared between tests, so never mutate them."""
    data = generate_company(seed, items=items, customers=customers)
    return list(data.items), list(data.customers), list(data.customer_segments)


@cache
def schema() -> graphql.GraphQLSchema:
    return graphql.build_schema(graphql_sdl())


def conform(value: object, of_type: graphql.GraphQLType, path: str) -> None:
    """Assert that `value` is a plain-dict rendering of GraphQL type `of_type`, every field present."""
    if isinstance(of_type, graphql.GraphQLNonNull):
        assert value is not None, f"{path} is null but non-null in the schema"
        conform(value, of_type.of_type, path)
    elif value is None:
        return
    elif isinstance(of_type, graphql.GraphQLList):
        assert isinstance(value, list), path
        for index, element in enumerate(value):
            conform(element, of_type.of_type, f"{path}[{index}]")
    elif isinstance(of_type, graphql.GraphQLObjectType):
        assert isinstance(value, dict), path
        assert set(value) == set(of_type.fields), f"{path}: fields {sorted(value)} != {sorted(of_type.fields)}"
        for name, field in of_type.fields.items():
            conform(value[name], field.type, f"{path}.{name}")
    elif isinstance(of_type, graphql.GraphQLEnumType):
        assert value in of_type.values, f"{path}: {value!r} is not a {of_type.name}"
    elif of_type.name in ("ID", "String"):
        assert isinstance(value, str), path
    elif of_type.name == "Boolean":
        assert isinstance(value, bool), path
    elif of_type.name == "Decimal":
        assert isinstance(value, str) and DECIMAL.fullmatch(value), f"{path}: {value!r}"
        assert Decimal(value).is_finite(), path
    elif of_type.name == "DateTime":
        assert isinstance(value, datetime) and value.utcoffset() == timedelta(0), f"{path}: {value!r}"
        assert value.microsecond % 1000 == 0, f"{path}: {value!r} is finer than a millisecond"
    else:
        pytest.fail(f"{path}: the schema has a scalar {of_type.name} this test does not know")


def y_tunnus_valid(business_id: str) -> bool:
    if not re.fullmatch(r"\d{7}-\d", business_id):
        return False
    remainder = sum(int(d) * w for d, w in zip(business_id[:7], (7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
    return remainder != 1 and int(business_id[-1]) == (0 if remainder == 0 else 11 - remainder)


def by_key(records: Records, key: str) -> dict[str, dict]:
    return {record[key]: record for record in records}


# --- determinism and shape ------------------------------------------------------------------------------


def test_same_seed_and_sizes_give_identical_records():
    """Two generations with one seed, sizes and epoch yield equal records, in the same order."""
    for seed in (0, 7):
        first = generate_company(seed, items=600, customers=40)
        second = generate_company(seed, items=600, customers=40)
        assert list(first.items) == list(second.items)
        assert list(first.customers) == list(second.customers)
        assert list(first.customer_segments) == list(second.customer_segments)


def test_different_seeds_give_different_data():
    """Other seeds give other items, customers and segment timestamps (same keys of special records)."""
    items_a, customers_a, segments_a = company(1, 300)
    items_b, customers_b, segments_b = company(2, 300)
    assert items_a != items_b
    assert customers_a != customers_b
    assert segments_a != segments_b
    assert {r["itemCode"] for r in items_a} != {r["itemCode"] for r in items_b}


def test_streams_do_not_depend_on_reading_order():
    """Items, customers and segments may be read in any order or interleaved: same records each way."""
    items, customers, segments = company(3, 400)
    data = generate_company(3, items=400)
    assert list(data.customer_segments) == segments
    assert list(data.customers) == customers
    assert list(data.items) == items
    data = generate_company(3, items=400)
    interleaved = [(i, c) for i, c in zip(data.items, data.customers, strict=False)]
    assert interleaved == list(zip(items, customers, strict=False))


@pytest.mark.parametrize("items", [5, 1000])
def test_records_have_every_schema_field_with_its_type(items: int):
    """Every record has exactly the fields of its GraphQL type, each of its type; null only where nullable."""
    item_records, customer_records, segment_records = company(11, items)
    for type_name, records in (
        ("Item", item_records),
        ("Customer", customer_records),
        ("CustomerSegment", segment_records),
    ):
        of_type = graphql.GraphQLNonNull(schema().get_type(type_name))
        for record in records:
            conform(record, of_type, f"{type_name} {next(iter(record.values()))}")


def test_keys_are_unique_and_valid_codes():
    """itemCode, customerNumber, segmentCode and contactId are unique, and fit sales-order.xsd's Code."""
    items, customers, segments = company(5, 5000)
    contact_ids = [c["contactId"] for customer in customers for c in customer["contacts"]]
    for keys in (
        [r["itemCode"] for r in items],
        [r["customerNumber"] for r in customers],
        [r["segmentCode"] for r in segments],
        contact_ids,
    ):
        assert len(keys) == len(set(keys))
        assert all(CODE.fullmatch(key) for key in keys), [k for k in keys if not CODE.fullmatch(k)][:5]


def test_sizes_count_the_special_records():
    """Items and customers come in the requested numbers; the minimum is the special records (8 and 3)."""
    data = generate_company(1, items=1234, customers=77)
    assert (data.item_count, data.customer_count, data.segment_count) == (1234, 77, len(SEGMENTS))
    assert sum(1 for _ in data.items) == 1234
    assert sum(1 for _ in data.customers) == 77
    assert sum(1 for _ in data.customer_segments) == len(SEGMENTS)
    assert len(company(1, 5)[0]) == len(SPECIAL_ITEM_CODES) == 8
    assert len(company(1, 5)[1]) == 20  # customers default to max(20, items // 20)
    assert len(company(1, 5000)[1]) == 250
    assert len(list(generate_company(1, items=0, customers=1).customers)) == 3


# --- the special records ------------------------------------------------------------------------------


@pytest.mark.parametrize("items", [5, 100, 5000])
def test_special_records_are_in_every_size(items: int):
    """BOOT-PRO-43 with its sibling sizes, GLOVE-WORK, C10042, C10666 and C10999 are as the examples need."""
    for seed in (0, 42):
        item_records, customer_records, _ = company(seed, items)
        found = by_key(item_records, "itemCode")
        boot = found["BOOT-PRO-43"]
        assert boot["modelCode"] == "BOOT-PRO" and boot["variantAttributes"] == [{"name": "Size", "value": "43"}]
        assert (boot["listPrice"], boot["vatRate"], boot["status"]) == ("59.90", "25.5", "ACTIVE")
        assert boot["webVisible"] is True
        assert Decimal(boot["stockBalance"]) > 0
        siblings = [r for r in item_records if r["modelCode"] == "BOOT-PRO"]
        assert len(siblings) >= 3 and {r["modelName"] for r in siblings} == {boot["modelName"]}
        assert MISSING_ITEM_CODE not in found  # error-unknown-item.xml: "Item BOOT-PRO-44 does not exist"
        glove = found["GLOVE-WORK"]
        assert (glove["status"], glove["variantAttributes"], glove["modelCode"]) == ("ACTIVE", [], None)
        assert (glove["listPrice"], glove["vatRate"], glove["productGroup"]) == ("4.15", "25.5", "GLOVES")

        customers = by_key(customer_records, "customerNumber")
        makinen = customers["C10042"]
        assert makinen["name"] == "Rakennus Oy Mäkinen & Poika"
        assert (makinen["status"], makinen["orderBlocked"]) == ("ACTIVE", False)
        assert makinen["segmentCodes"] and all(code.startswith("B2B-") for code in makinen["segmentCodes"])
        contacts = by_key(makinen["contacts"], "contactId")
        assert set(contacts) >= {"C10042-1", "C10042-2"}
        assert (contacts["C10042-2"]["email"], contacts["C10042-2"]["role"]) == ("osto@makinen.example", "BUYER")
        assert (customers["C10666"]["status"], customers["C10666"]["orderBlocked"]) == ("ACTIVE", True)
        assert customers["C10999"]["status"] == "DELETED"


# --- items ----------------------------------------------------------------------------------------------


def test_variant_families_share_model_name_and_differ_in_attributes():
    """Items of one modelCode share modelName, productGroup and unit, and have distinct variantAttributes."""
    items, _, _ = company(9, 5000)
    families: dict[str, Records] = {}
    for item in items:
        if item["modelCode"] is not None:
            families.setdefault(item["modelCode"], []).append(item)
    assert len(families) >= 50
    assert any(len(family) >= 8 for family in families.values())
    axes = {tuple(a["name"] for a in family[0]["variantAttributes"]) for family in families.values()}
    assert axes == {("Size",), ("Colour",), ("Colour", "Size")}
    for code, family in families.items():
        assert len({(r["modelName"], r["productGroup"], r["unit"]) for r in family}) == 1, code
        assert family[0]["modelName"]
        attribute_sets = [frozenset((a["name"], a["value"]) for a in r["variantAttributes"]) for r in family]
        assert all(attribute_sets) and len(set(attribute_sets)) == len(family), code


def test_standalone_items_have_no_model_nor_attributes():
    """Standalone items (modelCode None) have no modelName and no variantAttributes; GLOVES are all such."""
    items, _, _ = company(9, 5000)
    standalone = [r for r in items if r["modelCode"] is None]
    assert len(standalone) >= 500
    assert all(r["modelName"] is None and r["variantAttributes"] == [] for r in standalone)
    gloves = [r for r in items if r["productGroup"] == "GLOVES"]
    assert len(gloves) >= 10 and all(r["modelCode"] is None for r in gloves)


def test_items_hold_the_awkward_cases():
    """Missing prices, zero stock, fractional stock in m/kg, PASSIVE/DELETED, hidden items, all VAT rates."""
    items, _, _ = company(4, 5000)
    assert sum(r["listPrice"] is None for r in items) >= 10
    assert sum(Decimal(r["stockBalance"]) == 0 for r in items) >= 100
    fractional = [r for r in items if r["unit"] in ("m", "kg") and Decimal(r["stockBalance"]) % 1]
    assert len(fractional) >= 20 and all(re.fullmatch(r"\d+\.\d{3}", r["stockBalance"]) for r in fractional)
    statuses = Counter(r["status"] for r in items)
    assert statuses["ACTIVE"] > 0.8 * len(items) and statuses["PASSIVE"] >= 10 and statuses["DELETED"] >= 10
    assert sum(not r["webVisible"] for r in items) >= 50
    assert {r["vatRate"] for r in items} == {"25.5", "14", "10", "0"}
    assert {r["currency"] for r in items} == {"EUR"}
    assert all(re.fullmatch(r"\d+\.\d\d", r["listPrice"]) for r in items if r["listPrice"] is not None)


def test_decimal_strings_parse():
    """listPrice, vatRate, stockBalance and creditLimit are strings that decimal.Decimal parses exactly."""
    items, customers, _ = company(4, 2000)
    values = [r[f] for r in items for f in ("listPrice", "vatRate", "stockBalance")]
    values += [r["creditLimit"] for r in customers]
    for value in values:
        if value is not None:
            assert isinstance(value, str) and str(Decimal(value)) == value


# --- time -----------------------------------------------------------------------------------------------


def test_date_modified_within_a_year_before_the_epoch_in_milliseconds():
    """Every dateModified is UTC, whole milliseconds, in [epoch - 365 days, epoch); the epoch is a parameter."""
    epoch = datetime(2027, 6, 30, 12, 0, 0, 123_456, tzinfo=timezone(timedelta(hours=3)))
    data = generate_company(8, items=3000, epoch=epoch)
    records = [*data.items, *data.customers, *data.customer_segments]
    end = datetime(2027, 6, 30, 9, 0, 0, 123_000, tzinfo=UTC)
    for record in records:
        stamp = record["dateModified"]
        assert stamp.tzinfo is UTC and stamp.microsecond % 1000 == 0
        assert end - timedelta(days=365) <= stamp < end
    with pytest.raises(ValueError):
        generate_company(8, items=10, epoch=datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        generate_company(8, items=-1)


@pytest.mark.parametrize("items", [5, 1000])
def test_records_share_date_modified_milliseconds(items: int):
    """Items, customers and segments each have groups sharing one exact dateModified (batch imports)."""
    for records in company(12, items):
        counts = Counter(r["dateModified"] for r in records)
        assert counts.most_common(1)[0][1] >= 2


def test_a_bulk_update_stamps_many_items_with_one_millisecond():
    """At moderate sizes hundreds of items share one millisecond, as the contract's paging warning says."""
    items, _, _ = company(12, 5000)
    assert Counter(r["dateModified"] for r in items).most_common(1)[0][1] >= 200


# --- hostile texts --------------------------------------------------------------------------------------

HOSTILE: dict[str, Callable[[str], bool]] = {
    "&": lambda s: "&" in s,
    "<": lambda s: "<" in s,
    ">": lambda s: ">" in s,
    "double quote": lambda s: '"' in s,
    "apostrophe": lambda s: "'" in s,
    "emoji": lambda s: any(ord(c) > 0xFFFF for c in s),
    "combining character": lambda s: any(unicodedata.combining(c) for c in s),
    "300+ characters": lambda s: len(s) >= 300,
}


def test_hostile_texts_appear_in_some_records():
    """At 2,000 items (100 customers) every kind of hostile text is in item and customer texts, not in most."""
    items, customers, _ = company(6, 2000)
    item_texts = [t for r in items for t in (r["name"], r["description"]) if t]
    customer_names = [r["name"] for r in customers]
    for kind, present in HOSTILE.items():
        assert any(map(present, item_texts)), f"no item text with {kind}"
        assert any(map(present, customer_names)), f"no customer name with {kind}"
    hostile_names = sum(any(p(r["name"]) for p in HOSTILE.values()) for r in items)
    assert 0 < hostile_names < len(items) / 4


# --- customers and segments -------------------------------------------------------------------------------


def test_segments_are_realistic():
    """8 to 12 segments of all customer types, with PASSIVE and DELETED ones; B2B-RAKENNUS among them."""
    _, _, segments = company(1, 100)
    assert 8 <= len(segments) <= 12
    assert {r["customerType"] for r in segments} == {"B2B", "RESELLER", "CONSUMER"}
    assert {r["status"] for r in segments} == {"ACTIVE", "PASSIVE", "DELETED"}
    assert {"B2B-RAKENNUS", "RESELLER-NORTH", "CONSUMER"} <= {r["segmentCode"] for r in segments}


def test_customers_reference_one_to_three_segments_some_of_them_missing():
    """Customers carry 1 to 3 segment codes; a few carry codes that no segment has (dirty ERP data)."""
    _, customers, segments = company(2, 5000)
    known = {r["segmentCode"] for r in segments}
    assert all(1 <= len(r["segmentCodes"]) <= 3 for r in customers)
    dangling = [r for r in customers if set(r["segmentCodes"]) - known]
    assert 3 <= len(dangling) < len(customers) / 10
    assert {code for r in dangling for code in r["segmentCodes"]} - known <= set(DANGLING_SEGMENT_CODES)
    assert not set(DANGLING_SEGMENT_CODES) & known
    assert "B2B-VANHA" in by_key(company(2, 5)[1], "customerNumber")["C10999"]["segmentCodes"]


def test_customers_hold_contacts_addresses_and_the_awkward_cases():
    """Contacts 0-5 numbered per customer, billing address first plus 0-3 delivery, blocked and consumers."""
    _, customers, _ = company(3, 5000)
    for customer in customers:
        number, contacts, addresses = customer["customerNumber"], customer["contacts"], customer["addresses"]
        assert len(contacts) <= 5
        assert [c["contactId"] for c in contacts] == [f"{number}-{n}" for n in range(1, len(contacts) + 1)]
        assert addresses[0]["type"] == "BILLING" and len(addresses) <= 4
        assert all(a["type"] == "DELIVERY" for a in addresses[1:])
        assert all(len(a["countryCode"]) == 2 for a in addresses)
    contacts = [c for r in customers for c in r["contacts"]]
    assert {c["role"] for c in contacts} == {"ADMIN", "BUYER", "VIEWER", None}
    assert any(c["email"] is None for c in contacts)
    assert {len(r["contacts"]) for r in customers} >= {0, 1, 5}
    assert {len(r["addresses"]) for r in customers} == {1, 2, 3, 4}
    assert sum(r["orderBlocked"] for r in customers) >= 2
    assert {r["status"] for r in customers} == {"ACTIVE", "PASSIVE", "DELETED"}
    consumers = [r for r in customers if "CONSUMER" in r["segmentCodes"]]
    assert consumers and all(r["businessId"] is None and r["vatNumber"] is None for r in consumers)


def test_business_ids_are_valid_y_tunnus_with_matching_vat_numbers():
    """Every businessId is a Y-tunnus with a correct check digit; vatNumber, when present, is FI + its digits."""
    _, customers, _ = company(3, 5000)
    with_id = [r for r in customers if r["businessId"] is not None]
    assert len(with_id) > len(customers) / 2
    for customer in with_id:
        assert y_tunnus_valid(customer["businessId"]), customer["businessId"]
        assert customer["vatNumber"] in (None, "FI" + customer["businessId"].replace("-", ""))
    assert len({r["businessId"] for r in with_id}) == len(with_id)


def test_a_few_contact_emails_are_shared_by_two_customers():
    """Some contact e-mail is used by contacts of two different customers (exactly, and in another case)."""
    for items in (5, 5000):
        _, customers, _ = company(7, items)
        owners: dict[str, set[str]] = {}
        for customer in customers:
            for contact in customer["contacts"]:
                if contact["email"]:
                    owners.setdefault(contact["email"].lower(), set()).add(customer["customerNumber"])
        shared = [email for email, numbers in owners.items() if len(numbers) > 1]
        assert 1 <= len(shared) <= max(1, len(customers) // 20)
        if items == 5000:
            exact = {c["email"] for r in customers for c in r["contacts"] if c["email"]}
            assert len(exact) > len(owners)  # some shared address differs only in letter case


# --- streaming ------------------------------------------------------------------------------------------


def test_records_stream_lazily():
    """The three fields are iterators that build records on demand: a billion items cost nothing upfront."""
    start = time.perf_counter()
    data = generate_company(1, items=10**9)
    assert all(isinstance(it, Iterator) for it in (data.items, data.customers, data.customer_segments))
    first = [next(data.items) for _ in range(1000)]
    assert first[0]["itemCode"] in SPECIAL_ITEM_CODES and data.customer_count == 50_000_000
    assert time.perf_counter() - start < 2


def test_generation_holds_little_memory():
    """Streaming 20,000 items allocates under 1 MiB at its peak (records are not kept)."""
    tracemalloc.start()
    try:
        count = sum(1 for _ in generate_company(1, items=20_000).items)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 20_000
    assert peak < 2**20


def test_special_records_keep_their_keys_in_every_seed():
    """The special keys exist for arbitrary seeds (negative and large too)."""
    for seed in (-1, 2**40):
        items, customers, _ = company(seed, 20)
        assert set(SPECIAL_ITEM_CODES) <= {r["itemCode"] for r in items}
        assert set(SPECIAL_CUSTOMER_NUMBERS) <= {r["customerNumber"] for r in customers}
