"""Files that time alone makes stale: the manifest records a file's `next_change`, and from that instant
on the file is stale though no input changed (`prices.jsonl` when a price comes into force): pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sonet_pipeline.shop.inputs import (
    CATALOGUE,
    FILES,
    NEXT_CHANGE_FIELD,
    PRICES,
    due_files,
    merged_source,
    stale_by_tenant,
    stale_files,
)
from tests.shop.test_inputs import HIGH_WATER_MARKS, inputs, snapshot_manifest, tenant

CAMPAIGN = "2026-12-10T00:00:00.000Z"
START = datetime(2026, 12, 10, tzinfo=UTC)


def published(next_change: str | None = CAMPAIGN) -> dict:
    now = inputs()
    source = merged_source(None, now, list(FILES), HIGH_WATER_MARKS, {PRICES: next_change})
    return {"files": [{"name": f"{name}.jsonl"} for name in FILES], "source": source}


def test_before_the_instant_nothing_is_stale_from_it_on_the_prices_are() -> None:
    manifest = published()
    assert manifest["source"][NEXT_CHANGE_FIELD] == {PRICES: CAMPAIGN}
    assert stale_files(inputs(), manifest, START - timedelta(milliseconds=1)) == []
    assert stale_files(inputs(), manifest, START) == [PRICES]
    assert stale_files(inputs(), manifest, START + timedelta(days=3)) == [PRICES]
    assert stale_files(inputs(), manifest) == []  # without a clock only the inputs count
    assert due_files(manifest, START) == {PRICES: CAMPAIGN}


def test_a_file_that_never_changes_by_itself_is_never_due() -> None:
    manifest = published(None)
    assert manifest["source"][NEXT_CHANGE_FIELD] == {PRICES: None}
    assert stale_files(inputs(), manifest, datetime(2099, 1, 1, tzinfo=UTC)) == []


def test_an_unreadable_next_change_republishes_rather_than_keeping_an_old_price() -> None:
    manifest = published()
    manifest["source"][NEXT_CHANGE_FIELD] = {PRICES: "soon", "unknown_file": CAMPAIGN}
    assert stale_files(inputs(), manifest, START) == [PRICES]


def test_merged_source_keeps_the_next_change_of_files_not_written_and_replaces_those_written() -> None:
    before = published()
    later = "2026-12-12T00:00:00.000Z"
    kept = merged_source(before, inputs(), [CATALOGUE], HIGH_WATER_MARKS, {PRICES: later})
    assert kept[NEXT_CHANGE_FIELD] == {PRICES: CAMPAIGN}  # prices not written: its instant stands
    replaced = merged_source(before, inputs(), [PRICES], HIGH_WATER_MARKS, {PRICES: later})
    assert replaced[NEXT_CHANGE_FIELD] == {PRICES: later}
    assert NEXT_CHANGE_FIELD not in merged_source(None, inputs(), [CATALOGUE], HIGH_WATER_MARKS)


def test_stale_by_tenant_names_the_due_instant_so_each_one_asks_anew() -> None:
    manifest = published()
    ask = dict(snapshot_manifest=lambda _: snapshot_manifest(), outbox_mark=lambda _: "0/-/0/0/0/0")
    (before,) = stale_by_tenant([tenant()], **ask, published_manifest=lambda _: manifest, now=START - timedelta(1))
    assert before.files == [] and before.due == {}
    (due,) = stale_by_tenant([tenant()], **ask, published_manifest=lambda _: manifest, now=START)
    assert due.files == [PRICES] and due.due == {PRICES: CAMPAIGN}
