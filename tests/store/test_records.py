"""Raw Query API nodes to typed frames (`to_frame`) and back to the contract's shape (`to_graphql`)."""

from __future__ import annotations

import re
import time

import pandas as pd
import pytest

from sonet_pipeline.sonet.entities import DATETIME, entities, entity
from sonet_pipeline.store import HASH, RecordError, to_frame, to_graphql
from tests.store.samples import customer, instant, item, node, segment

MILLIS_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def assert_same_record(entity_name: str, original: dict, dumped: dict) -> None:
    """Value for value: every field present; instants equal, formatted UTC `Z` with ms; the rest equal."""
    spec = entity(entity_name)
    assert list(dumped) == spec.field_names
    for field in spec.fields:
        sent, back = original[field.name], dumped[field.name]
        if field.kind == DATETIME and sent is not None:
            assert MILLIS_Z.fullmatch(back), back
            assert instant(back) == instant(sent).replace(microsecond=instant(sent).microsecond // 1000 * 1000)
        else:
            assert back == sent, field.name


@pytest.mark.parametrize("name", list(entities()))
def test_round_trip_keeps_every_field(name: str) -> None:
    """Every contract field of every entity survives to_frame → to_graphql, nulls, offsets and decimals included."""
    spec = entity(name)
    records = [node(spec, i) for i in range(10)]
    frame = to_frame(spec, records)
    assert list(frame.columns) == [*spec.field_names, HASH]
    for i, record in enumerate(records):
        assert_same_record(name, record, to_graphql(spec, frame.iloc[i]))


def test_column_types() -> None:
    """Decimals stay the exact text sent, DateTimes become UTC instants, JSON becomes canonical text."""
    spec = entity("items")
    frame = to_frame(
        spec,
        [
            item(
                "A",
                "2026-11-28T06:38:00.123456789+02:00",
                listPrice="59.90",
                variantAttributes=[{"value": "43", "name": "Koko"}],
            )
        ],
    )
    row = frame.iloc[0]
    assert row["listPrice"] == "59.90"
    assert str(frame["dateModified"].dtype) == "datetime64[us, UTC]"
    assert row["dateModified"] == pd.Timestamp("2026-11-28T04:38:00.123456Z")
    assert row["variantAttributes"] == '[{"value":"43","name":"Koko"}]'
    assert str(frame["webVisible"].dtype) == "boolean" and bool(row["webVisible"]) is True
    assert to_graphql(spec, row)["dateModified"] == "2026-11-28T04:38:00.123Z"


def test_hash_follows_content_not_spelling() -> None:
    """The hash is equal for the same instant in other offsets, and differs when any field's value differs."""
    spec = entity("items")
    a = to_frame(spec, [item("A", "2026-11-28T04:38:00Z")])[HASH][0]
    assert a == to_frame(spec, [item("A", "2026-11-28T06:38:00.000+02:00")])[HASH][0]
    assert a != to_frame(spec, [item("A", "2026-11-28T04:38:00Z", listPrice="59.9")])[HASH][0]
    assert a != to_frame(spec, [item("A", "2026-11-28T04:38:00Z", ean="")])[HASH][0]
    assert a != to_frame(spec, [item("A", "2026-11-28T04:38:00Z", description="")])[HASH][0]


def test_hash_is_stable_across_processes_and_versions() -> None:
    """The hash is a fixed function of the values (BLAKE2b of JSON), not Python's per-process hash().

    Changing the recipe makes the next sync see every stored record as updated once: do it on purpose.
    """
    frame = to_frame(entity("segments"), [segment("S1", dateModified="2026-11-28T06:38:00.123+02:00")])
    assert frame[HASH][0] == "ef53d8acaa8984eb07867bd86841bd3e"


def test_samples_cover_the_contract() -> None:
    """The hand-written samples used by other tests carry exactly the contract's fields."""
    assert list(item("A")) == entity("items").field_names
    assert list(customer("C", [])) == entity("customers").field_names
    assert list(segment("S")) == entity("segments").field_names


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({k: v for k, v in item("A1").items() if k != "unit"}, "unit"),
        (item("A1", name=None), "name"),
        (item("A1", "yesterday"), "dateModified"),
        (item("A1", "2026-11-28T04:38:00"), "dateModified"),
        (item("A1", "2026-13-28T04:38:00Z"), "dateModified"),
        (item("A1", webVisible="true"), "webVisible"),
        (item("A1", variantAttributes="Koko=43"), "variantAttributes"),
    ],
)
def test_bad_record_names_entity_key_and_field(record: dict, field: str) -> None:
    """A record missing a required field, with an unparseable or offset-less DateTime or a wrong type is refused."""
    records = [item("A0"), record, item("A2")]
    with pytest.raises(RecordError) as caught:
        to_frame(entity("items"), records)
    assert (caught.value.entity, caught.value.key, caught.value.field) == ("items", "A1", field)
    assert "items" in str(caught.value) and "'A1'" in str(caught.value) and field in str(caught.value)


def test_empty_batch() -> None:
    """No records make an empty frame with every column."""
    frame = to_frame(entity("customers"), [])
    assert frame.empty and list(frame.columns) == [*entity("customers").field_names, HASH]


def test_conversion_is_vectorized_enough() -> None:
    """A page batch of 5,000 items converts in well under a second (it is ~50 ms on a 2-core box)."""
    records = [item(f"I{i:05d}", f"2026-11-28T06:38:{i % 60:02d}.{i % 1000:03d}+02:00") for i in range(5_000)]
    started = time.perf_counter()
    to_frame(entity("items"), records)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    "value",
    [[{"name": "Kökö", "value": '43"\\\n'}], {"a": [1, 2.5, None, True], "b": {}}, [], {}, ["€😀\u2028"]],
)
def test_fast_encoders_write_what_json_writes(value: object) -> None:
    """The prebuilt C encoders give the documented JSON text, so hashes and stored JSON did not change."""
    from sonet_pipeline.store import records

    assert "".join(records._DUMP_VALUE(value, 0)) == records._DUMP_JSON(value)
    row = ("x", None, True, False, 1764304680123000, -7, records._DUMP_JSON(value), "ä€😀")
    assert "".join(records._HASH_ROW(row, 0)) == records._HASH_JSON(row)


def test_missing_optional_field_reads_as_null() -> None:
    """A node without an optional field (the slower path) converts like one with the field null."""
    spec = entity("items")
    full = item("A", description=None)
    sparse = {k: v for k, v in full.items() if k != "description"}
    pd.testing.assert_frame_equal(to_frame(spec, [sparse, full]).iloc[[0]], to_frame(spec, [full]))
