"""Pruning the change history (the retention job's call): old versions go, each key's newest never does.

Every test runs on both backends (`backend` in conftest.py) with the same assertions.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sonet_pipeline.sonet.entities import entity
from sonet_pipeline.store import ALL, SqlStore, to_frame
from tests.store.samples import SYNCED_AT, customer, item

ITEMS, CUSTOMERS = entity("items"), entity("customers")
S0, S1, S2 = SYNCED_AT, SYNCED_AT + timedelta(days=1), SYNCED_AT + timedelta(days=2)


def stamp(at: datetime) -> str:
    """A dateModified a minute before the sync at `at`."""
    return (at - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def bring(store: SqlStore, spec, records: list[dict], at: datetime, run_id: str) -> None:
    store.upsert(spec, to_frame(spec, records), run_id=run_id, partition="p", synced_at=at)


def versions(store: SqlStore, spec=ITEMS) -> list[tuple[str, str]]:
    """(key, run) of every version the history keeps."""
    frame = store.history(spec)
    return sorted(zip(frame[spec.key], frame["_run_id"], strict=True))


@pytest.fixture
def aged(store: SqlStore) -> SqlStore:
    """A changed three times (days 0, 1, 2); B synced once on day 0; C changed on days 0 and 2."""
    bring(store, ITEMS, [item("A", stamp(S0), listPrice="1.00"), item("B", stamp(S0)), item("C", stamp(S0))], S0, "r0")
    bring(store, ITEMS, [item("A", stamp(S1), listPrice="2.00"), item("B", stamp(S0))], S1, "r1")
    bring(store, ITEMS, [item("A", stamp(S2), listPrice="3.00"), item("C", stamp(S2), name="new")], S2, "r2")
    return store


def test_versions_older_than_the_cutoff_go_except_each_keys_newest(aged: SqlStore) -> None:
    """Before day 2: A's versions of days 0 and 1 and C's of day 0 go; B's only version stays however old,
    and the latest table does not change."""
    latest = aged.frame(ITEMS)
    assert aged.prune_history(ITEMS, S2) == 3
    assert versions(aged) == [("A", "r2"), ("B", "r0"), ("C", "r2")]
    assert aged.frame(ITEMS).equals(latest)
    assert aged.prune_history("items", S2 + timedelta(days=365)) == 0  # what is left is every key's newest


def test_a_dry_run_counts_and_deletes_nothing(aged: SqlStore) -> None:
    """With dry_run the answer is what a real prune would delete, and the history is untouched."""
    before = versions(aged)
    assert aged.prune_history(ITEMS, S2, dry_run=True) == 3
    assert versions(aged) == before
    assert aged.prune_history(ITEMS, S1) == 2  # only what was synced before the cutoff: A's and C's day 0
    assert versions(aged) == [("A", "r1"), ("A", "r2"), ("B", "r0"), ("C", "r2")]


def test_all_entities_at_once_and_the_store_goes_on(aged: SqlStore) -> None:
    """ALL prunes every entity and answers the sum; once a key changes, its old newest version may go."""
    bring(aged, CUSTOMERS, [customer("K1", [], dateModified=stamp(S0))], S0, "c0")
    bring(aged, CUSTOMERS, [customer("K1", [], dateModified=stamp(S1), name="renamed")], S1, "c1")
    assert aged.prune_history(ALL, S2) == 3 + 1
    assert versions(aged, CUSTOMERS) == [("K1", "c1")]
    bring(aged, ITEMS, [item("B", stamp(S2 + timedelta(days=1)), listPrice="9.00")], S2 + timedelta(days=1), "r3")
    assert aged.prune_history(ITEMS, S2 + timedelta(days=2)) == 1  # B's day 0: no longer its newest
    assert versions(aged) == [("A", "r2"), ("B", "r3"), ("C", "r2")]


def test_a_cutoff_needs_an_offset_and_an_entity_a_known_name(store: SqlStore) -> None:
    """A naive cutoff or an unknown entity is refused with an error that names it."""
    with pytest.raises(ValueError, match="naive"):
        store.prune_history(ITEMS, datetime(2026, 11, 28))
    with pytest.raises(ValueError, match="widgets"):
        store.prune_history("widgets", S0)
