"""Published snapshots: the contract's records back out of parquet, atomically, for readers in other processes.

Every test runs on both backends (`backend` in conftest.py): the DuckDB store publishing to a folder, and
the PostgreSQL store publishing to a PostgreSQL table (production's `PostgresBlobs`)."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from sonet_pipeline.sonet.entities import entities, entity
from sonet_pipeline.store import snapshot as snapshot_module
from sonet_pipeline.store import to_frame, to_graphql
from tests.store.conftest import Backend
from tests.store.samples import SYNCED_AT, item, node
from tests.store.test_records import assert_same_record

ITEMS = entity("items")


@pytest.mark.parametrize("name", list(entities()))
def test_raw_node_to_store_to_snapshot_round_trip(backend: Backend, name: str) -> None:
    """Raw node → store → snapshot → to_graphql gives the original back value for value, ordered by key."""
    spec = entity(name)
    records = [node(spec, i) for i in reversed(range(12))]
    with backend.open() as store:
        store.upsert(spec, to_frame(spec, records), run_id="r", partition="p", synced_at=SYNCED_AT)
        store.publish_snapshot(backend.blobs())
    dumped = list(backend.snapshot().records(spec))
    originals = sorted(records, key=lambda r: r[spec.key])
    assert [d[spec.key] for d in dumped] == [o[spec.key] for o in originals]
    for original, back in zip(originals, dumped, strict=True):
        assert_same_record(name, original, back)


@pytest.mark.parametrize("name", list(entities()))
def test_records_are_to_graphql_of_the_stored_rows(backend: Backend, name: str) -> None:
    """records() converts a column at a time: the same values, of the same types, as to_graphql per row."""
    spec = entity(name)
    with backend.open() as store:
        store.upsert(
            spec, to_frame(spec, [node(spec, i) for i in range(25)]), run_id="r", partition="p", synced_at=SYNCED_AT
        )
        store.publish_snapshot(backend.blobs())
        expected = [to_graphql(spec, row) for _, row in store.frame(spec).iterrows()]
    dumped = list(backend.snapshot().records(spec))
    assert dumped == expected
    assert [[type(v) for v in d.values()] for d in dumped] == [[type(v) for v in e.values()] for e in expected]


def test_records_share_equal_texts_up_to_a_limit(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    """Equal texts of a column are one object; a column past SHARED_VALUES distinct texts stops sharing."""
    monkeypatch.setattr(snapshot_module, "SHARED_VALUES", 3)
    monkeypatch.setattr(snapshot_module, "_BATCH", 2)
    codes = [f"I{i}" for i in range(8)]
    with backend.open() as store:
        nodes = [item(code, unit="".join(["P", "CS"]), name=f"Name {i % 2}") for i, code in enumerate(codes)]
        store.upsert(ITEMS, to_frame(ITEMS, nodes), run_id="r", partition="p", synced_at=SYNCED_AT)
        store.publish_snapshot(backend.blobs())
    dumped = list(backend.snapshot().records(ITEMS))
    assert [d["itemCode"] for d in dumped] == codes and {d["unit"] for d in dumped} == {"PCS"}
    assert len({id(d["unit"]) for d in dumped}) == 1 and len({id(d["name"]) for d in dumped}) == 2


def test_records_of_a_file_with_other_column_types_go_through_to_graphql(backend: Backend, tmp_path: Path) -> None:
    """A snapshot whose columns are not the store's types (here a DOUBLE price) still reads as to_graphql says."""
    folder = tmp_path / "written"
    folder.mkdir()
    with duckdb.connect() as con:
        con.execute(f"""COPY (SELECT 'A' AS itemCode, 'Boot' AS name, NULL::VARCHAR AS description,
                                     NULL::VARCHAR AS modelCode, NULL::VARCHAR AS modelName,
                                     '[]' AS variantAttributes, 'SHOES' AS productGroup, 'PCS' AS unit,
                                     NULL::VARCHAR AS ean, 59.9::DOUBLE AS listPrice, 'EUR' AS currency,
                                     '25.5' AS vatRate, '3' AS stockBalance, true AS webVisible,
                                     'ACTIVE' AS status, TIMESTAMPTZ '2026-11-28 04:38:00.123+00' AS dateModified)
                        TO '{folder / "items.parquet"}' (FORMAT parquet)""")
    backend.blobs().put("items.parquet", (folder / "items.parquet").read_bytes())
    [record] = backend.snapshot().records(ITEMS)
    assert record["listPrice"] == "59.9" and record["variantAttributes"] == []
    assert record["dateModified"] == "2026-11-28T04:38:00.123Z"


def test_keys_are_ordered_by_code_point(backend: Backend) -> None:
    """records() and frame() order keys by Unicode code point, as Sonet does (not by locale or case)."""
    codes = ["b", "B", "ä", "a", "Z", "10", "9"]
    with backend.open() as store:
        store.upsert(ITEMS, to_frame(ITEMS, [item(c) for c in codes]), run_id="r", partition="p", synced_at=SYNCED_AT)
        store.publish_snapshot(backend.blobs())
        assert list(store.frame(ITEMS)["itemCode"]) == sorted(codes)
    assert [r["itemCode"] for r in backend.snapshot().records(ITEMS)] == sorted(codes)


def test_manifest_and_frame(backend: Backend) -> None:
    """The manifest gives counts, high-water marks and published_at; frame() has the bookkeeping columns."""
    with backend.open() as store:
        store.upsert(ITEMS, to_frame(ITEMS, [item("A"), item("B")]), run_id="r9", partition="p", synced_at=SYNCED_AT)
        store.advance_high_water_mark(ITEMS, SYNCED_AT)
        store.record_success(ITEMS, run_id="r9", at=SYNCED_AT)
        written = store.publish_snapshot(backend.blobs(), at=SYNCED_AT + timedelta(seconds=1.5))
    snapshot = backend.snapshot()
    manifest = snapshot.manifest()
    assert manifest == written
    assert manifest["entities"]["items"]["count"] == 2
    assert manifest["entities"]["items"]["high_water_mark"] == "2026-11-28T05:00:00.000Z"
    assert manifest["entities"]["items"]["last_success_at"] == "2026-11-28T05:00:00.000Z"
    assert manifest["entities"]["customers"] == {
        "file": "customers.parquet",
        "count": 0,
        "fingerprint": "0-0000000000000000",
        "high_water_mark": None,
        "last_success_at": None,
    }
    assert manifest["published_at"] == "2026-11-28T05:00:01.500Z"
    frame = snapshot.frame(ITEMS)
    assert list(frame["itemCode"]) == ["A", "B"] and set(frame["_run_id"]) == {"r9"}
    assert sorted(backend.blobs().names()) == sorted([f"{n}.parquet" for n in entities()] + ["manifest.json"])


def test_missing_snapshot_reads_empty(backend: Backend) -> None:
    """Before any publish a snapshot is empty: no records, an empty frame with the columns, no manifest."""
    snapshot = backend.snapshot("nothing_here")
    assert list(snapshot.records(ITEMS)) == []
    assert snapshot.manifest() is None
    frame = snapshot.frame(ITEMS)
    assert frame.empty and list(frame.columns)[: len(ITEMS.field_names)] == ITEMS.field_names


def test_reading_while_the_writer_replaces_files_never_fails(backend: Backend) -> None:
    """Readers in a loop during repeated publishes always see one whole published version, never an error.

    DuckDB opens a file several times per query (metadata at bind, data at scan): `os.replace` alone let
    one query mix two versions ("don't know what type" from the parquet reader) in most runs of this test.
    """
    published: set[int] = set()
    errors: list[BaseException] = []
    seen: list[int] = []
    stop = threading.Event()

    def read() -> None:
        snapshot = backend.snapshot()
        while not stop.is_set():
            try:
                seen.append(len(snapshot.frame(ITEMS)))
                seen.append(sum(1 for _ in snapshot.records(ITEMS)))
                snapshot.manifest()
            except BaseException as error:  # any failure is the finding
                errors.append(error)
                return

    readers = [threading.Thread(target=read) for _ in range(2)]
    with backend.open() as store:
        for round_ in range(15):
            batch = [item(f"I{round_:02d}-{i:03d}") for i in range(100)]
            store.upsert(ITEMS, to_frame(ITEMS, batch), run_id="r", partition="p", synced_at=SYNCED_AT)
            store.publish_snapshot(backend.blobs())
            published.add(store.count(ITEMS))
            if round_ == 0:
                for reader in readers:
                    reader.start()
        stop.set()
        for reader in readers:
            reader.join(timeout=10)
    assert not errors, errors
    assert len(seen) > 20 and set(seen) <= published
    if backend.dsn is None:  # no temporary file of a publish left behind
        assert not [p for p in (backend.folder / "snapshot").iterdir() if p.name.endswith(".tmp")]


def test_records_of_some_keys_ordered_by_a_field_and_raw_columns(backend: Backend) -> None:
    """What the incremental catalogue reads: some keys' records, one model's after another (no model
    last), and every row's key, model and hash without converting records."""
    items = entity("items")
    records = [
        item("C", "2026-11-28T04:38:00.000Z", modelCode="M2"),
        item("A", "2026-11-28T04:38:00.000Z"),
        item("B", "2026-11-28T04:38:00.000Z", modelCode="M1"),
        item("D", "2026-11-28T04:38:00.000Z", modelCode="M1"),
    ]
    with backend.open() as store:
        store.upsert(items, to_frame(items, records), run_id="r", partition="p", synced_at=SYNCED_AT)
        store.publish_snapshot(backend.blobs())
    snapshot = backend.snapshot()
    ordered = [r["itemCode"] for r in snapshot.records(items, order=("modelCode",))]
    assert ordered == ["B", "D", "C", "A"]
    assert [r["itemCode"] for r in snapshot.records(items, ["D", "A", "X"])] == ["A", "D"]
    assert list(snapshot.records(items, [])) == []
    rows = snapshot.columns(items, ["itemCode", "modelCode", "_hash"])
    assert [(code, model) for code, model, _ in rows] == [("A", None), ("B", "M1"), ("C", "M2"), ("D", "M1")]
    assert all(len(digest) == 32 for _, _, digest in rows)


@pytest.mark.parametrize("part_rows", [1, 3, 5, 1_000])
def test_records_in_parts_are_records_ordered_by_the_field(backend: Backend, part_rows: int) -> None:
    """A part at a time (one value, several, a value with more than a part's records, the nulls) gives
    the records `records(order=(field, *order))` gives, in the same order; code points, nulls last."""
    models = ["M2", "m1", "ä", "M1", None, "M2", "M10", None, "M1", "M2", "M2", "Z"]
    nodes = [item(f"I{n:02d}", modelCode=model, name=f"N{n % 3}") for n, model in enumerate(models)]
    with backend.open() as store:
        store.upsert(ITEMS, to_frame(ITEMS, nodes), run_id="r", partition="p", synced_at=SYNCED_AT)
        store.publish_snapshot(backend.blobs())
    snapshot = backend.snapshot()
    whole = list(snapshot.records(ITEMS, order=("modelCode", "name")))
    parts = list(snapshot.records_in_parts(ITEMS, "modelCode", order=("name",), part_rows=part_rows))
    assert parts == whole and len(parts) == len(models)
    assert [r["modelCode"] for r in parts] == sorted(models, key=lambda m: (m is None, m or ""))


def test_records_in_parts_of_no_snapshot_are_none(backend: Backend) -> None:
    assert list(backend.snapshot().records_in_parts(ITEMS, "modelCode")) == []


def test_parts_run_consecutive_values_up_to_the_rows_a_larger_value_and_the_null_alone() -> None:
    counted = [("A", 2), ("B", 2), ("C", 7), ("D", 1), ("E", 1), (None, 4)]
    assert list(snapshot_module._parts(counted, 4)) == [("A", "B"), ("C", "C"), ("D", "E"), (None, None)]
    assert list(snapshot_module._parts(counted, 100)) == [("A", "E"), (None, None)]
    assert list(snapshot_module._parts([(None, 3)], 1)) == [(None, None)]
    assert list(snapshot_module._parts([], 1)) == []
