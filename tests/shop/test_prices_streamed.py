"""`prices.jsonl` streamed one (list, item) at a time from lines read in list and item order: the same
bytes, `next_change` and figures as the file built with every line held (`prices_file`)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sonet_pipeline.shop.prices import LINE_ORDER, prices_file, streamed_prices_file
from sonet_pipeline.shop.publish import jsonl
from sonet_pipeline.store import Snapshot, TenantStore, to_frame
from sonet_pipeline.store.records import format_instant
from tests.prices.test_resolution import line

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
LISTS = ("L1", "L2", "PL-Ä", "pl-low")
ITEMS = ("A", "B-10", "B-9", "Z", "Ä-1", "ö", "🧤", "a")  # code point order is not a locale's


def lines(seed: int, count: int = 400) -> list[dict[str, Any]]:
    """Lines of a few lists and items: breaks, windows around NOW (ended, in force, to come, beyond a
    week), null bounds, PASSIVE and DELETED lines, ties, a record that prices nothing."""
    rng = random.Random(seed)

    def instant() -> str | None:
        return None if rng.random() < 0.5 else format_instant(NOW + timedelta(hours=rng.randint(-400, 400)))

    made = []
    for number in range(count):
        start, end = instant(), instant()
        if start and end and end <= start:
            start, end = end, start
        made.append(
            line(
                f"PLL-{number:05d}",
                f"{rng.randint(1, 500)}.{rng.randint(0, 99):02d}",
                minimum=rng.choice(("1", "1", "10", "50", "2.5")),
                start=start,
                end=end,
                status=rng.choice(("ACTIVE",) * 8 + ("PASSIVE", "DELETED")),
                price_list=rng.choice(LISTS),
                item=rng.choice(ITEMS),
            )
        )
    return made


def in_order(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(records, key=lambda record: tuple(record[name] for name in LINE_ORDER))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("horizon", [timedelta(days=1), timedelta(days=7), timedelta(days=60)])
def test_streamed_from_ordered_lines_gives_the_same_bytes_change_and_figures(seed: int, horizon: timedelta) -> None:
    records = lines(seed)
    held = prices_file(records, NOW, horizon)
    streamed = streamed_prices_file(in_order(records), NOW, horizon)
    assert held.records  # the case is not empty
    assert streamed.lines.data == jsonl(held.records)
    assert streamed.lines.records == len(held.records)
    assert (streamed.next_change, streamed.next_change_text) == (held.next_change, held.next_change_text)
    assert streamed.counts == held.counts


def test_records_that_price_nothing_may_come_anywhere() -> None:
    odd = [{"lineId": "PLL-X", "status": "ACTIVE", "price": "not a number"}, line("PLL-Y", "1.00", status="PASSIVE")]
    records = in_order(lines(1))
    mixed = odd[:1] + records[:50] + odd[1:] + records[50:]
    streamed = streamed_prices_file(mixed, NOW, timedelta(days=7))
    assert streamed.lines.data == jsonl(prices_file(mixed, NOW, timedelta(days=7)).records)


def test_lines_out_of_list_and_item_order_are_refused_naming_the_pair() -> None:
    records = [line("PLL-1", "1.00", item="B"), line("PLL-2", "2.00", item="A"), line("PLL-3", "3.00", item="B")]
    with pytest.raises(ValueError, match=r"not ordered by list and item: \('L1', 'A'\) after \('L1', 'B'\)"):
        streamed_prices_file(records, NOW, timedelta(days=7))
    again = [records[1], records[0], line("PLL-4", "4.00", item="C"), records[2]]  # B seen again after C
    with pytest.raises(ValueError, match=r"\('L1', 'B'\) after \('L1', 'C'\)"):
        streamed_prices_file(again, NOW, timedelta(days=7))


def test_no_lines_give_an_empty_file_that_never_goes_stale() -> None:
    streamed = streamed_prices_file([], NOW, timedelta(days=7))
    assert streamed.lines.data == b"" and streamed.lines.records == 0 and streamed.next_change_text is None


def test_the_snapshot_reads_lines_in_the_order_the_stream_needs(tmp_path: Path) -> None:
    """Non-ASCII codes included: the snapshot's order (DuckDB, by bytes) is Python's (code points)."""
    records = [r for r in lines(3, 600) if r["price"] != "not a number"]
    random.Random(9).shuffle(records)
    with TenantStore.open(tmp_path / "store.duckdb") as store:
        frame = to_frame("price_list_lines", records)
        store.upsert("price_list_lines", frame, run_id="r", partition="p", synced_at=NOW)
        store.publish_snapshot(tmp_path / "snapshot")
    snapshot = Snapshot(tmp_path / "snapshot")
    streamed = streamed_prices_file(snapshot.records("price_list_lines", order=LINE_ORDER), NOW, timedelta(days=7))
    held = prices_file(snapshot.records("price_list_lines"), NOW, timedelta(days=7))
    assert streamed.lines.data == jsonl(held.records) and streamed.counts == held.counts
    # As the step reads them: a few lists at a time (here one list or less per read).
    parts = snapshot.records_in_parts("price_list_lines", LINE_ORDER[0], order=LINE_ORDER[1:], part_rows=100)
    in_parts = streamed_prices_file(parts, NOW, timedelta(days=7))
    assert in_parts.lines.data == streamed.lines.data and in_parts.next_change == streamed.next_change
