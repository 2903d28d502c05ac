"""Published snapshots: the contract's records back out of parquet, atomically, for readers in other processes."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from sonet_pipeline.entities import entities, entity
from sonet_pipeline.store import Snapshot, TenantStore, to_frame
from tests.store.samples import SYNCED_AT, item, node
from tests.store.test_records import assert_same_record

ITEMS = entity("items")


@pytest.mark.parametrize("name", list(entities()))
def test_raw_node_to_store_to_snapshot_round_trip(tmp_path: Path, name: str) -> None:
    """Raw node → store → snapshot → to_graphql gives the original back value for value, ordered by key."""
    spec = entity(name)
    records = [node(spec, i) for i in reversed(range(12))]
    with TenantStore.open(tmp_path / "t.duckdb") as store:
        store.upsert(spec, to_frame(spec, records), run_id="r", partition="p", synced_at=SYNCED_AT)
        store.publish_snapshot(tmp_path / "snapshot")
    dumped = list(Snapshot(tmp_path / "snapshot").records(spec))
    originals = sorted(records, key=lambda r: r[spec.key])
    assert [d[spec.key] for d in dumped] == [o[spec.key] for o in originals]
    for original, back in zip(originals, dumped, strict=True):
        assert_same_record(name, original, back)


def test_keys_are_ordered_by_code_point(tmp_path: Path) -> None:
    """records() orders keys by Unicode code point, as Sonet does (not by locale or case)."""
    codes = ["b", "B", "ä", "a", "Z", "10", "9"]
    with TenantStore.open(tmp_path / "t.duckdb") as store:
        store.upsert(ITEMS, to_frame(ITEMS, [item(c) for c in codes]), run_id="r", partition="p", synced_at=SYNCED_AT)
        store.publish_snapshot(tmp_path / "snap")
    assert [r["itemCode"] for r in Snapshot(tmp_path / "snap").records(ITEMS)] == sorted(codes)


def test_manifest_and_frame(tmp_path: Path) -> None:
    """The manifest gives counts, high-water marks and published_at; frame() has the bookkeeping columns."""
    with TenantStore.open(tmp_path / "t.duckdb") as store:
        store.upsert(ITEMS, to_frame(ITEMS, [item("A"), item("B")]), run_id="r9", partition="p", synced_at=SYNCED_AT)
        store.advance_high_water_mark(ITEMS, SYNCED_AT)
        store.record_success(ITEMS, run_id="r9", at=SYNCED_AT)
        written = store.publish_snapshot(tmp_path / "snap", at=SYNCED_AT + timedelta(seconds=1.5))
    snapshot = Snapshot(tmp_path / "snap")
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
    assert sorted(p.name for p in (tmp_path / "snap").iterdir()) == sorted(
        [f"{n}.parquet" for n in entities()] + ["manifest.json"]
    )


def test_missing_snapshot_reads_empty(tmp_path: Path) -> None:
    """Before any publish a snapshot is empty: no records, an empty frame with the columns, no manifest."""
    snapshot = Snapshot(tmp_path / "nothing-here")
    assert list(snapshot.records(ITEMS)) == []
    assert snapshot.manifest() is None
    frame = snapshot.frame(ITEMS)
    assert frame.empty and list(frame.columns)[: len(ITEMS.field_names)] == ITEMS.field_names


def test_reading_while_the_writer_replaces_files_never_fails(tmp_path: Path) -> None:
    """Readers in a loop during repeated publishes always see one whole published version, never an error.

    DuckDB opens a file several times per query (metadata at bind, data at scan): `os.replace` alone let
    one query mix two versions ("don't know what type" from the parquet reader) in most runs of this test.
    """
    folder = tmp_path / "snap"
    published: set[int] = set()
    errors: list[BaseException] = []
    seen: list[int] = []
    stop = threading.Event()

    def read() -> None:
        snapshot = Snapshot(folder)
        while not stop.is_set():
            try:
                seen.append(len(snapshot.frame(ITEMS)))
                seen.append(sum(1 for _ in snapshot.records(ITEMS)))
                snapshot.manifest()
            except BaseException as error:  # any failure is the finding
                errors.append(error)
                return

    readers = [threading.Thread(target=read) for _ in range(2)]
    with TenantStore.open(tmp_path / "t.duckdb") as store:
        for round_ in range(15):
            batch = [item(f"I{round_:02d}-{i:03d}") for i in range(100)]
            store.upsert(ITEMS, to_frame(ITEMS, batch), run_id="r", partition="p", synced_at=SYNCED_AT)
            store.publish_snapshot(folder)
            published.add(store.count(ITEMS))
            if round_ == 0:
                for reader in readers:
                    reader.start()
        stop.set()
        for reader in readers:
            reader.join(timeout=10)
    assert not errors, errors
    assert len(seen) > 20 and set(seen) <= published
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
