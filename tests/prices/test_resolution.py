"""The contract's rule for a buyer's price (README "Price lists"), on every tie it names: pure."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from sonet_pipeline.prices.lines import active_lines, parse_line
from sonet_pipeline.prices.resolution import LINE, LIST_PRICE, NOT_SOLD, ON_REQUEST, PriceBook, winning_line
from tests.prices.samples import price_list_line

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def line(line_id: str, price: str, *, item: str = "A", **more: Any) -> dict[str, Any]:
    return price_list_line(line_id, item, price, **more)


ITEM = {"itemCode": "A", "listPrice": "100.00", "currency": "EUR", "status": "ACTIVE"}


def winner(records: list[dict[str, Any]], quantity: str = "1", at: datetime = NOW) -> str | None:
    found = winning_line(active_lines(records), Decimal(quantity), at)
    return None if found is None else found.line_id


def test_the_greatest_quantity_break_not_above_the_quantity_wins() -> None:
    lines = [line("1", "10", minimum="1"), line("2", "9", minimum="10"), line("3", "8", minimum="100")]
    assert winner(lines, "1") == "1" and winner(lines, "9.99") == "1"
    assert winner(lines, "10") == "2" and winner(lines, "99") == "2" and winner(lines, "250") == "3"
    assert winner(lines, "0.5") is None  # below every break: the list price


def test_on_a_tie_of_breaks_the_latest_valid_from_wins_and_null_is_the_earliest() -> None:
    lines = [
        line("Z", "10"),
        line("A", "9", start="2026-12-01T00:00:00.000Z"),
        line("B", "8", start="2026-11-01T00:00:00.000Z"),
    ]
    assert winner(lines) == "A"
    assert winner([line("Z", "10"), line("B", "8", start="2026-11-01T00:00:00.000Z")]) == "B"


def test_on_a_tie_of_break_and_valid_from_the_greatest_line_id_by_code_point_wins() -> None:
    assert winner([line("L-9", "1"), line("L-10", "2")]) == "L-9"  # "9" > "1": code points, not numbers
    assert winner([line("Z", "1"), line("a", "2")]) == "a"  # lower case after upper case
    assert winner([line("ä", "1"), line("z", "2")]) == "ä"


def test_validity_is_from_inclusive_to_exclusive_and_a_null_bound_is_open() -> None:
    at = "2026-12-07T12:00:00.000Z"
    assert winner([line("1", "5", start=at)]) == "1"  # validFrom <= t
    assert winner([line("1", "5", end=at)]) is None  # t < validTo
    assert winner([line("1", "5", start="2026-12-08T00:00:00.000Z")]) is None  # a future price
    assert winner([line("1", "5", start="2026-11-01T00:00:00.000Z", end="2026-11-30T00:00:00.000Z")]) is None  # expired


def test_only_active_lines_with_numbers_price_anything() -> None:
    assert winner([line("1", "5", status="PASSIVE"), line("2", "6", status="DELETED")]) is None
    assert parse_line(line("1", "4,15")) is None and parse_line(line("1", "5", minimum="many")) is None
    assert parse_line(line("1", "5", start="yesterday")) is None
    assert parse_line(line("1", "5", start="2026-12-01T00:00:00")) is None  # no offset: not an instant


@pytest.mark.parametrize(
    ("item", "price_list", "expected"),
    [
        (ITEM, "L1", (Decimal("7.50"), "SEK", LINE)),  # an export list: the line's currency
        (ITEM, "L2", (Decimal("100.00"), "EUR", LIST_PRICE)),  # a list without a line for the item
        (ITEM, None, (Decimal("100.00"), "EUR", LIST_PRICE)),  # no list
        ({**ITEM, "listPrice": None}, None, (None, "EUR", ON_REQUEST)),
        ({**ITEM, "status": "PASSIVE"}, "L1", (None, None, NOT_SOLD)),  # a line of an item not sold
        (None, "L1", (None, None, NOT_SOLD)),  # a line of an item that does not exist
    ],
)
def test_the_price_of_an_item_for_a_list(
    item: dict[str, Any] | None, price_list: str | None, expected: tuple[object, ...]
) -> None:
    book = PriceBook(active_lines([line("1", "7.50", currency="SEK"), line("2", "1", price_list="L2", item="B")]))
    price = book.price_of(item, price_list, Decimal("1"), NOW)
    assert (price.amount, price.currency, price.source) == expected
    assert (price.line is not None) == (price.source == LINE)
    assert price.as_json()["source"] == expected[2]
