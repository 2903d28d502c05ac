"""One entity's sync into a store: a key a faulty Sonet lists twice in a row is seen as such even when
the two rows fall on either side of a batch, and its conflict then names it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.inbound.sync import EntitySync, sync_entity
from sonet_pipeline.inbound.windows import INITIAL, Window
from sonet_pipeline.sonet.entities import entity
from sonet_pipeline.sonet.query import QueryPage
from sonet_pipeline.store import TenantStore, quality
from tests.store.samples import item

ITEMS = entity("items")
T1 = "2026-11-28T04:38:00.000Z"


class ListedPages:
    """Pages of the given records, `size` a page, as the Query client gives them."""

    def __init__(self, records: list[dict[str, Any]], size: int) -> None:
        self.records, self.size = records, size

    def iter_pages(self, spec: Any, **_: Any) -> Iterator[QueryPage]:
        chunks = [self.records[i : i + self.size] for i in range(0, len(self.records), self.size)]
        for n, chunk in enumerate(chunks):
            yield QueryPage(chunk, f"c{n}", n < len(chunks) - 1)


def initial_items_sync(records: list[dict[str, Any]], page_size: int, store: TenantStore, **options: Any) -> EntitySync:
    """An initial sync of the items from `records`, `page_size` a page."""
    return sync_entity(
        ListedPages(records, size=page_size),  # type: ignore[arg-type]
        store,
        ITEMS,
        Window(None, None, INITIAL),
        run_id="r",
        partition="",
        clock=ManualClock(datetime(2026, 11, 28, 5, tzinfo=UTC)),
        page_size=page_size,
        **options,
    )


@pytest.mark.parametrize("batch_rows", [2, 3, 4, 5, 100])
def test_a_key_listed_twice_is_a_conflict_wherever_the_batches_split(tmp_path, batch_rows: int) -> None:
    records = [item(f"K{i}", T1) for i in range(4)]
    records.insert(3, item("K2", T1, listPrice="1.00"))  # K2 twice, side by side, with two prices
    with TenantStore.open(tmp_path / "t.duckdb") as store:
        result = initial_items_sync(records, 1, store, batch_rows=batch_rows)
        assert result.counts.fetched == 5 and store.count(ITEMS) == 4
        assert [(f["key"], f["rows"]) for f in quality.duplicate_keys(store, ITEMS)] == [("K2", 2)]


def test_the_listener_hears_the_pages_and_records_read_after_each_page(tmp_path) -> None:
    records = [item(f"K{i}", T1) for i in range(5)]
    heard: list[tuple[int, int]] = []
    with TenantStore.open(tmp_path / "t.duckdb") as store:
        initial_items_sync(records, 2, store, on_page=lambda pages, read: heard.append((pages, read)))
    assert heard == [(1, 2), (2, 4), (3, 5)]
