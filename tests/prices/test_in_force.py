"""`prices.jsonl`'s records: the breaks in force now and the periods to come within the horizon: pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sonet_pipeline.prices.in_force import breaks_at, next_change, price_records
from sonet_pipeline.prices.lines import active_lines
from tests.prices.test_resolution import line

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
CAMPAIGN = "2026-12-10T00:00:00.000Z"


def test_one_break_per_quantity_each_the_line_that_wins_there() -> None:
    lines = active_lines(
        [line("1", "10"), line("2", "9", start="2026-12-01T00:00:00.000Z"), line("3", "8", minimum="10")]
    )
    assert [(b.line_id, str(b.min_quantity)) for b in breaks_at(lines, NOW)] == [("2", "1"), ("3", "10")]


def test_a_future_price_is_a_period_of_its_own_from_its_valid_from() -> None:
    lines = active_lines([line("base", "10"), line("xmas", "7", start=CAMPAIGN, end="2026-12-27T00:00:00.000Z")])
    (record,) = price_records(lines, NOW, timedelta(days=7))
    assert record["priceListCode"] == "L1" and record["itemCode"] == "A"
    now, campaign = record["periods"]
    assert now["validFrom"] is None and now["validTo"] == CAMPAIGN
    assert [b["lineId"] for b in now["breaks"]] == ["base"]
    assert campaign["validFrom"] == CAMPAIGN and campaign["validTo"] is None  # its end is past the horizon
    assert [(b["lineId"], b["price"]) for b in campaign["breaks"]] == [("xmas", "7")]
    assert next_change(lines, NOW) == datetime(2026, 12, 10, tzinfo=UTC)


def test_beyond_the_horizon_expired_and_passive_lines_give_no_record() -> None:
    lines = active_lines(
        [
            line("later", "5", start="2027-01-31T00:00:00.000Z", item="LATER"),
            line("gone", "5", end="2026-12-01T00:00:00.000Z", item="GONE"),
            line("off", "5", status="PASSIVE", item="OFF"),
        ]
    )
    assert list(price_records(lines, NOW, timedelta(days=7))) == []
    assert next_change(lines, NOW) == datetime(2027, 1, 31, tzinfo=UTC)


def test_a_price_that_ends_within_the_horizon_leaves_a_period_of_list_price() -> None:
    lines = active_lines([line("short", "5", end=CAMPAIGN)])
    (record,) = price_records(lines, NOW, timedelta(days=7))
    assert [len(p["breaks"]) for p in record["periods"]] == [1, 0]  # no break then: the item's list price
