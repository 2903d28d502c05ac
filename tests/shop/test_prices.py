"""The shop's `prices.jsonl` from the synced price list line records, and when it goes stale: pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sonet_pipeline.shop.prices import prices_file
from sonet_pipeline.shop.publish import jsonl
from tests.prices.test_resolution import line

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
CAMPAIGN, CAMPAIGN_END = "2026-12-10T00:00:00.000Z", "2026-12-12T00:00:00.000Z"


def records() -> list[dict]:
    return [
        line("PLL-1", "52.90", item="BOOT"),
        line("PLL-2", "49.90", item="BOOT", minimum="10"),
        line("PLL-3", "44.90", item="BOOT", start=CAMPAIGN, end=CAMPAIGN_END),
        line("PLL-4", "3.20", item="GLOVE", price_list="L2"),
        line("PLL-5", "1.00", item="GONE", end="2026-12-01T00:00:00.000Z"),  # expired: no record
        line("PLL-6", "1.00", item="OFF", status="PASSIVE"),  # prices nothing
        {"lineId": "PLL-7", "status": "ACTIVE", "price": "not a number"},  # odd: left out, never raises
    ]


def test_the_file_holds_per_list_and_item_the_breaks_now_and_the_campaign_to_come() -> None:
    prices = prices_file(records(), NOW, timedelta(days=7))
    assert [(r["priceListCode"], r["itemCode"]) for r in prices.records] == [("L1", "BOOT"), ("L2", "GLOVE")]
    boots = prices.records[0]["periods"]
    assert [(p["validFrom"], p["validTo"]) for p in boots] == [
        (None, CAMPAIGN),
        (CAMPAIGN, CAMPAIGN_END),
        (CAMPAIGN_END, None),
    ]
    assert [(b["minQuantity"], b["price"], b["lineId"]) for b in boots[0]["breaks"]] == [
        ("1", "52.90", "PLL-1"),
        ("10", "49.90", "PLL-2"),
    ]
    assert [(b["minQuantity"], b["price"]) for b in boots[1]["breaks"]] == [("1", "44.90"), ("10", "49.90")]
    assert prices.next_change == datetime(2026, 12, 10, tzinfo=UTC) and prices.next_change_text == CAMPAIGN
    assert prices.counts == {"price_lists": 2, "items_priced": 2, "lines_active": 5, "items_with_changes_ahead": 1}
    first = jsonl(prices.records).decode().splitlines()[0]  # compact JSON Lines, the contract's field names
    assert first.startswith('{"priceListCode":"L1","itemCode":"BOOT","periods":[{"validFrom":null,')


def test_published_at_the_campaigns_start_the_campaign_price_is_now() -> None:
    start = datetime(2026, 12, 10, tzinfo=UTC)
    prices = prices_file(records(), start, timedelta(days=7))
    now = prices.records[0]["periods"][0]
    assert now["validFrom"] is None and now["validTo"] == CAMPAIGN_END
    assert now["breaks"][0]["price"] == "44.90"
    assert prices.next_change_text == CAMPAIGN_END


def test_a_short_horizon_leaves_the_campaign_out_until_it_comes_within_it() -> None:
    prices = prices_file(records(), NOW, timedelta(days=1))
    assert len(prices.records[0]["periods"]) == 1  # the campaign starts in 2.5 days
    assert prices.next_change == datetime(2026, 12, 9, tzinfo=UTC)  # a day before it: it enters the horizon


def test_no_lines_give_an_empty_file_that_never_goes_stale() -> None:
    prices = prices_file([], NOW, timedelta(days=7))
    assert prices.records == [] and prices.next_change is None and prices.next_change_text is None
