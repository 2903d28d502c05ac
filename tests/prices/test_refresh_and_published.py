"""When a published `prices.jsonl` goes stale (`refresh_at`), and its lines read back price as the list's
own lines do (`published_lines`): pure."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sonet_pipeline.prices.in_force import price_records, refresh_at
from sonet_pipeline.prices.lines import active_lines
from sonet_pipeline.prices.published import published_lines
from sonet_pipeline.prices.resolution import PriceBook
from tests.prices.test_resolution import line

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, tzinfo=UTC)


def text(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


def test_a_campaign_within_the_horizon_makes_the_file_stale_when_it_starts() -> None:
    lines = active_lines([line("base", "10"), line("xmas", "7", start=text(at(10)), end=text(at(12)))])
    assert refresh_at(lines, NOW, WEEK) == at(10)
    assert refresh_at(lines, at(10), WEEK) == at(12)  # published again at the start: its end is next
    assert refresh_at(lines, at(12), WEEK) is None  # nothing starts or ends any more


def test_a_change_beyond_the_horizon_makes_the_file_stale_when_it_comes_within_it() -> None:
    lines = active_lines([line("base", "10"), line("new year", "11", start=text(datetime(2027, 1, 1, tzinfo=UTC)))])
    (now,) = price_records(lines, NOW, WEEK)
    assert now["periods"][-1]["validTo"] is None  # not listed yet
    due = refresh_at(lines, NOW, WEEK)
    assert due == datetime(2026, 12, 25, tzinfo=UTC)
    assert due is not None
    (record,) = price_records(lines, due, WEEK)  # published then, the file lists it
    assert record["periods"][-1]["validFrom"] == "2027-01-01T00:00:00.000Z"


def test_no_line_with_a_bound_ahead_never_goes_stale() -> None:
    lines = active_lines([line("base", "10"), line("old", "9", end=text(at(1)))])
    assert refresh_at(lines, NOW, WEEK) is None


def test_the_published_lines_price_every_quantity_and_instant_of_the_horizon_as_the_lines_do() -> None:
    records = [
        line("base", "10"),
        line("ten", "9", minimum="10"),
        line("tie-a", "9.50", minimum="10"),
        line("xmas", "7", start=text(at(10)), end=text(at(12))),
        line("xmas-10", "6", minimum="10", start=text(at(10)), end=text(at(13))),
        line("later", "11", start=text(at(11, 6))),
        line("other list", "5", price_list="L2"),
        line("passive", "1", status="PASSIVE"),
    ]
    lines = active_lines(records)
    published = published_lines(price_records(lines, NOW, WEEK))
    assert {p.line_id for p in published} <= {ln.line_id for ln in lines}
    truth, read_back = PriceBook(lines), PriceBook(published)
    item = {"itemCode": "A", "status": "ACTIVE", "listPrice": "12", "currency": "EUR"}
    instants = [NOW, at(10), at(11, 5), at(11, 6), at(12), at(13, 1), at(14, 11)]
    for when, quantity, price_list in itertools.product(instants, ("1", "9", "10", "50"), ("L1", "L2")):
        expected = truth.price_of(item, price_list, Decimal(quantity), when)
        assert read_back.price_of(item, price_list, Decimal(quantity), when) == expected, (when, quantity)


def test_breaks_that_do_not_parse_are_left_out() -> None:
    records = [
        {"priceListCode": "L1", "itemCode": "A", "periods": [{"breaks": [{"lineId": "x", "price": "abc"}, "odd"]}]},
        {"priceListCode": "L1", "itemCode": "B", "periods": "odd"},
    ]
    assert published_lines(records) == []
