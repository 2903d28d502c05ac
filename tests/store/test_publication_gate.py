"""The gate in front of the snapshot: a key Sonet lists twice with different content is kept as a
conflict until a newer version settles it, and a store that fails a blocking rule is kept but not
published: the snapshot stays at the last state that passed, and the next store that passes publishes.

The store tests run on both backends (`backend` in conftest.py); `judge` is pure."""

from __future__ import annotations

import pytest

from sonet_pipeline.sonet.entities import entity
from sonet_pipeline.store import SqlStore, quality, to_frame
from sonet_pipeline.store.publication_gate import (
    BLOCKING,
    RULES,
    blocking_findings,
    judge,
    publish_if_passed,
    to_publish,
    unchanged_since_published,
)
from tests.store.conftest import Backend
from tests.store.samples import SYNCED_AT, customer, item

ITEMS, CUSTOMERS = entity("items"), entity("customers")
T1, T2 = "2026-11-28T04:38:00.000Z", "2026-11-28T04:39:00.000Z"


def load(store: SqlStore, records: list[dict], run_id: str = "r") -> None:
    store.upsert(ITEMS, to_frame(ITEMS, records), run_id=run_id, partition="p", synced_at=SYNCED_AT)


def test_judge_passes_only_when_no_blocking_rule_found_a_record() -> None:
    clean = judge({rule.label: [] for rule in BLOCKING})
    assert clean.passed and clean.failing == {} and clean.describe() == "passed" and clean.published == ()
    bad = [{"entity": "items", "key": "A", "field": "listPrice", "value": "4,15"}]
    held = judge({rule.label: [] for rule in BLOCKING} | {"items/decimals_parse": bad})
    assert not held.passed and held.failing == {"items/decimals_parse": bad}
    assert held.describe() == "items/decimals_parse: 1 record(s)"


def test_to_publish_holds_only_the_failing_entities_and_only_once_they_were_published() -> None:
    everything = ("items", "customers", "segments", "sales_orders", "price_list_lines")
    clean = judge({rule.label: [] for rule in BLOCKING})
    bad_items = judge({rule.label: [] for rule in BLOCKING} | {"items/unique_keys": [{"key": "A"}]})
    published = {"entities": {name: {"fingerprint": "f"} for name in everything}}
    assert to_publish(clean, None) == to_publish(clean, published) == everything
    assert to_publish(bad_items, published) == ("customers", "segments", "sales_orders", "price_list_lines")
    assert bad_items.held("items") and bad_items.failing_entities == ("items",)
    assert to_publish(bad_items, None) == ()  # before a first snapshot: nothing, never a missing entity
    assert to_publish(bad_items, {"entities": {"customers": {}}}) == ()


def test_judge_refuses_a_rule_that_does_not_block() -> None:
    warning = next(rule for rule in RULES if not rule.blocking)
    with pytest.raises(ValueError, match=warning.label):
        judge({warning.label: [{"entity": "items", "key": "A"}]})


def test_a_key_listed_twice_with_different_content_is_a_conflict_until_a_newer_version(backend: Backend) -> None:
    with backend.open() as store:
        same = item("SAME", T1)
        load(store, [item("A", T1), same, same, item("B", T1, listPrice="1.00"), item("B", T1, listPrice="2.00")])
        assert store.count(ITEMS) == 3  # the latest table holds each key once
        assert quality.duplicate_keys(store, ITEMS) == [
            {"entity": "items", "key": "B", "rows": 2, "dateModified": T1}
        ]  # the same version twice is no conflict
        load(store, [item("B", T1, listPrice="1.00")], run_id="r2")  # re-read in a later sync's lookback
        assert [f["key"] for f in quality.duplicate_keys(store, ITEMS)] == ["B"]
        load(store, [item("B", T2, listPrice="1.50")], run_id="r3")  # Sonet corrected it
        assert quality.duplicate_keys(store, ITEMS) == []
        assert store.query("SELECT count(*) FROM key_conflicts")[0][0] == 1  # kept, like the history
        versions = store.history(ITEMS).query("itemCode == 'B'")
        assert set(versions["listPrice"]) == {"1.00", "1.50", "2.00"}  # each version Sonet listed
        with quality.Tables(store) as tables:  # the copy the rules read on PostgreSQL
            assert quality.duplicate_keys(tables, ITEMS) == []


def test_a_failing_store_keeps_the_snapshot_and_the_next_passing_one_publishes(backend: Backend) -> None:
    target = backend.blobs()
    with backend.open() as store:
        load(store, [item("A", T1), item("B", T1)])
        first = publish_if_passed(store, target)
        assert first.passed and first.published
        published = target.get("items.parquet")

        customers = target.get("customers.parquet")
        load(store, [item("A", T2, listPrice="4,15"), item("B", T2), item("B", T2, listPrice="9.99")])
        store.upsert(
            CUSTOMERS, to_frame(CUSTOMERS, [customer("C1", [])]), run_id="r", partition="p", synced_at=SYNCED_AT
        )
        with quality.Tables(store) as tables:
            held = publish_if_passed(store, target, tables)
        assert set(held.failing) == {"items/unique_keys", "items/decimals_parse"}
        assert held.held("items") and held.published == ("customers", "segments", "sales_orders", "price_list_lines")
        assert target.get("customers.parquet") != customers  # a passing entity still publishes
        fresh = backend.blobs("fresh")  # no snapshot yet: nothing until every entity passes
        assert publish_if_passed(store, fresh).published == () and fresh.get("manifest.json") is None
        assert held.failing["items/decimals_parse"][0]["key"] == "A"
        assert held.failing["items/unique_keys"][0]["key"] == "B"
        assert target.get("items.parquet") == published  # readers still see the last state that passed
        assert store.count(ITEMS) == 2 and len(store.history(ITEMS)) == 5  # yet nothing synced is lost

        load(store, [item("A", "2026-11-28T04:40:00.000Z"), item("B", "2026-11-28T04:40:00.000Z")])
        assert all(found == [] for found in blocking_findings(store).values())
        fixed = publish_if_passed(store, target)
        assert fixed.published == ("items", "customers", "segments", "sales_orders", "price_list_lines")
        assert target.get("items.parquet") != published
    prices = {r["itemCode"]: r["listPrice"] for r in backend.snapshot().records(ITEMS)}
    assert prices == {"A": "59.90", "B": "59.90"}


def test_a_store_unchanged_since_its_publish_is_not_written_again(backend: Backend) -> None:
    """A sync that changed nothing leaves the published files as they are: same records, same files."""
    target = backend.blobs()
    with backend.open() as store:
        load(store, [item("A", T1), item("B", T1)])
        assert publish_if_passed(store, target).published
        manifest = target.get("manifest.json")
        load(store, [item("A", T1), item("B", T1)], run_id="r2")  # the lookback re-reads them, unchanged
        again = publish_if_passed(store, target)
        assert again.passed and again.published == (
            "items",
            "customers",
            "segments",
            "sales_orders",
            "price_list_lines",
        )
        assert target.get("manifest.json") == manifest  # not written again
        load(store, [item("A", T2, listPrice="1.00")], run_id="r3")
        assert publish_if_passed(store, target).published and target.get("manifest.json") != manifest
    assert {r["itemCode"]: r["listPrice"] for r in backend.snapshot().records(ITEMS)}["A"] == "1.00"


def test_an_entity_whose_records_are_its_published_files_is_not_judged_again(backend: Backend) -> None:
    target = backend.blobs()
    with backend.open() as store:
        load(store, [item("A", T1)])
        assert publish_if_passed(store, target).published  # the first snapshot: every entity judged
        manifest = backend.snapshot().manifest()
        assert set(unchanged_since_published(store, manifest)) == set(manifest["entities"])

        class Unreadable:  # a rule that read an unchanged entity would fail here
            def __getattr__(self, name: str) -> object:
                raise AssertionError(f"the rules read the store ({name}) though nothing changed")

        idle = publish_if_passed(store, target, Unreadable())  # type: ignore[arg-type]
        assert idle.passed and set(idle.published) == set(manifest["entities"])

        load(store, [item("A", T2, listPrice="4,15")], run_id="r2")  # items changed, and fail now
        assert "items" not in unchanged_since_published(store, manifest)
        held = publish_if_passed(store, target)
        assert held.held("items") and set(held.failing) == {"items/decimals_parse"}
        again = publish_if_passed(store, target)  # still held: judged (and reported) every time
        assert again.held("items") and set(again.failing) == {"items/decimals_parse"}
