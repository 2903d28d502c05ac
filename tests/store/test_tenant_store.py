"""The tenant store: upsert by key with counts, history, idempotency, and a sync state that never goes back.

Every test runs on both backends (DuckDB and PostgreSQL, `backend` in conftest.py) with the same assertions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sonet_pipeline.sonet.entities import entities, entity
from sonet_pipeline.store import SqlStore, UpsertCounts, to_frame
from tests.store.conftest import Backend
from tests.store.samples import SYNCED_AT, item, node

ITEMS = entity("items")
T0, T1, T2 = "2026-11-28T04:38:00.000Z", "2026-11-28T04:39:00.000Z", "2026-11-28T04:40:00.000Z"


def upsert(store: SqlStore, records: list[dict], run_id: str = "run-1", partition: str = "p1") -> UpsertCounts:
    return store.upsert(ITEMS, to_frame(ITEMS, records), run_id=run_id, partition=partition, synced_at=SYNCED_AT)


def stored(store: SqlStore, code: str) -> dict:
    frame = store.frame(ITEMS)
    return frame[frame["itemCode"] == code].iloc[0].to_dict()


def history(store: SqlStore) -> list[tuple]:
    frame = store.history(ITEMS)
    columns = ["itemCode", "listPrice", "_run_id", "_partition", "_synced_at"]
    return sorted(tuple(row) for row in frame[columns].itertuples(index=False))


def test_insert_then_same_frame_again_changes_nothing(store: SqlStore) -> None:
    """New keys are inserted; the same frame again counts as unchanged and writes no row or history."""
    records = [item(f"A{i}", T0) for i in range(5)]
    assert upsert(store, records) == UpsertCounts(fetched=5, inserted=5)
    assert upsert(store, records, run_id="run-2") == UpsertCounts(fetched=5, unchanged=5)
    assert store.count(ITEMS) == 5 and store.keys(ITEMS) == {f"A{i}" for i in range(5)}
    assert {row[2] for row in history(store)} == {"run-1"} and len(history(store)) == 5
    assert stored(store, "A0")["_run_id"] == "run-1"


def test_newer_version_replaces_and_is_kept_in_history(store: SqlStore) -> None:
    """A newer dateModified with other content replaces the row; history holds both versions with run and partition."""
    upsert(store, [item("A", T0, listPrice="10.00")])
    counts = upsert(store, [item("A", T1, listPrice="12.50")], run_id="run-2", partition="p2")
    assert counts == UpsertCounts(fetched=1, updated=1)
    row = stored(store, "A")
    assert (row["listPrice"], row["_run_id"], row["_partition"]) == ("12.50", "run-2", "p2")
    assert history(store) == [
        ("A", "10.00", "run-1", "p1", SYNCED_AT),
        ("A", "12.50", "run-2", "p2", SYNCED_AT),
    ]


def test_same_instant_with_other_content_updates(store: SqlStore) -> None:
    """An equal dateModified (>=) with a different hash still replaces: Sonet may stamp twice in one millisecond."""
    upsert(store, [item("A", T0, stockBalance="1")])
    assert upsert(store, [item("A", "2026-11-28T06:38:00+02:00", stockBalance="2")]).updated == 1
    assert stored(store, "A")["stockBalance"] == "2"


def test_older_version_is_stale_and_ignored(store: SqlStore) -> None:
    """A version older than the stored one (a late overlap re-read) is counted stale and changes nothing."""
    upsert(store, [item("A", T1, listPrice="12.50")])
    assert upsert(store, [item("A", T0, listPrice="10.00")]) == UpsertCounts(fetched=1, stale=1)
    assert stored(store, "A")["listPrice"] == "12.50"
    assert len(history(store)) == 1


def test_duplicates_within_a_batch_keep_the_newest(store: SqlStore) -> None:
    """A key read twice in one batch keeps its newest dateModified; on a tie the later one in the batch wins,
    and the history keeps the other version too (a key conflict: `quality.duplicate_keys` names it)."""
    batch = [
        item("A", T1, listPrice="2.00"),
        item("A", T0, listPrice="1.00"),
        item("B", T0, listPrice="1.00"),
        item("B", T0, listPrice="3.00"),
    ]
    assert upsert(store, batch) == UpsertCounts(fetched=4, inserted=2)
    assert stored(store, "A")["listPrice"] == "2.00"
    assert stored(store, "B")["listPrice"] == "3.00"
    assert sorted(row[1] for row in history(store) if row[0] == "B") == ["1.00", "3.00"]
    assert len(history(store)) == 3


def test_deletions_are_counted_once(store: SqlStore) -> None:
    """`deleted` counts rows that become DELETED: inserted as DELETED or changed to it, not changed while DELETED."""
    assert upsert(store, [item("A", T0), item("B", T0, status="DELETED")]).deleted == 1
    assert upsert(store, [item("A", T1, status="DELETED")]) == UpsertCounts(fetched=1, updated=1, deleted=1)
    assert upsert(store, [item("A", T2, status="DELETED", name="gone")]) == UpsertCounts(fetched=1, updated=1)
    assert upsert(store, [item("B", T0, status="DELETED")]).deleted == 0


def test_every_entity_gets_its_tables(store: SqlStore) -> None:
    """Each contract entity has a latest table (key as primary key) and a history table with all its fields."""
    for spec in entities().values():
        records = [node(spec, i) for i in range(4)]
        counts = store.upsert(spec, to_frame(spec, records), run_id="r", partition="p", synced_at=SYNCED_AT)
        assert counts.inserted == 4
        for table in (spec.name, f"{spec.name}_history"):
            assert store.table_columns(table) == [*spec.field_names, "_hash", "_run_id", "_partition", "_synced_at"]


def test_high_water_mark_only_advances(store: SqlStore) -> None:
    """advance_high_water_mark moves the mark forward, never back; an unknown entity has none."""
    assert store.high_water_mark(ITEMS) is None
    late = datetime(2026, 11, 28, 4, 40, tzinfo=UTC)
    store.advance_high_water_mark(ITEMS, late)
    store.advance_high_water_mark(ITEMS, late - timedelta(minutes=5))
    assert store.high_water_mark(ITEMS) == late
    store.advance_high_water_mark(ITEMS, late.astimezone(UTC) + timedelta(seconds=1))
    assert store.high_water_mark(ITEMS) == late + timedelta(seconds=1)
    with pytest.raises(ValueError, match="naive"):
        store.advance_high_water_mark(ITEMS, datetime(2026, 11, 28))


def test_success_and_full_reads_are_recorded(store: SqlStore) -> None:
    """record_success keeps the last success; last_full moves only on a full read; both survive a reopen."""
    first, second = SYNCED_AT, SYNCED_AT + timedelta(minutes=1)
    store.record_success(ITEMS, run_id="r1", at=first, full=True)
    store.record_success(ITEMS, run_id="r2", at=second)
    store.advance_high_water_mark(ITEMS, first)
    assert (store.last_success(ITEMS), store.last_full(ITEMS), store.high_water_mark(ITEMS)) == (second, first, first)
    assert store.query("SELECT last_run_id FROM sync_state") == [("r2",)]


def test_state_persists(backend: Backend) -> None:
    """Records and sync state are in the tenant's file or schema: a reopened store has them."""
    with backend.open() as store:
        upsert(store, [item("A", T0), item("B", T1)])
        store.advance_high_water_mark(ITEMS, SYNCED_AT)
    with backend.open() as store:
        assert store.count(ITEMS) == 2
        assert store.newest_modified(ITEMS) == datetime(2026, 11, 28, 4, 39, tzinfo=UTC)
        assert store.high_water_mark(ITEMS) == SYNCED_AT


def test_empty_and_malformed_frames(store: SqlStore) -> None:
    """An empty frame counts nothing; a frame not built by to_frame is refused before any write."""
    assert upsert(store, []) == UpsertCounts()
    unhashed = to_frame(ITEMS, [item("A")]).drop(columns="_hash")
    with pytest.raises(ValueError, match="to_frame"):
        store.upsert(ITEMS, unhashed, run_id="r", partition="p", synced_at=SYNCED_AT)
    assert store.count(ITEMS) == 0 and store.newest_modified(ITEMS) is None


def test_a_failing_upsert_writes_nothing(store: SqlStore) -> None:
    """An upsert that fails midway rolls back whole, and the store stays usable."""
    upsert(store, [item("A", T0)])
    frame = to_frame(ITEMS, [item("B", T1), item("C", T1)])
    frame["dateModified"] = frame["dateModified"].astype("str").where(frame["itemCode"] == "B", "not a time")
    with pytest.raises(Exception, match="not a time"):
        store.upsert(ITEMS, frame, run_id="r", partition="p", synced_at=SYNCED_AT)
    assert store.keys(ITEMS) == {"A"} and len(history(store)) == 1
    assert upsert(store, [item("B", T1)]).inserted == 1


def test_entities_may_be_given_by_name(backend: Backend) -> None:
    """Every store function takes an Entity or its pipeline name ("items") alike."""
    with backend.open() as store:
        frame = to_frame("items", [item("A", T0)])
        assert store.upsert("items", frame, run_id="r", partition="p", synced_at=SYNCED_AT).inserted == 1
        store.advance_high_water_mark("items", SYNCED_AT)
        store.record_success("items", run_id="r", at=SYNCED_AT, full=True)
        assert (store.keys("items"), store.count("items")) == ({"A"}, 1)
        assert store.high_water_mark("items") == store.last_full("items") == store.last_success("items") == SYNCED_AT
        assert store.newest_modified("items") == store.newest_modified(ITEMS)
        store.publish_snapshot(backend.blobs())
    assert [r["itemCode"] for r in backend.snapshot().records("items")] == ["A"]
    with pytest.raises(ValueError, match="unknown entity"):
        to_frame("widgets", [])


def test_fingerprint_changes_exactly_when_a_record_is_added_or_changed(store: SqlStore) -> None:
    """The shop republishes a file when its entity's fingerprint moves: on an insert or a change,
    also a back-dated one that leaves count and high-water mark alone, never on an unchanged re-read."""
    empty = store.fingerprint(ITEMS)
    upsert(store, [item("A", T0), item("B", T1)])
    two = store.fingerprint(ITEMS)
    upsert(store, [item("A", T0), item("B", T1)], run_id="run-2")
    assert store.fingerprint(ITEMS) == two != empty
    upsert(store, [item("A", "2026-11-28T06:38:00+02:00", listPrice="99.00")], run_id="run-3")
    changed = store.fingerprint(ITEMS)
    assert changed != two and store.count(ITEMS) == 2
    assert store.fingerprint(ITEMS) == changed
