"""An order line is flagged when its unitPrice is not the buyer's price at the order's createdAt: pure."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sonet_pipeline.prices.lines import active_lines
from sonet_pipeline.prices.order_check import check_order_prices, mismatch_message
from sonet_pipeline.prices.resolution import PriceBook
from tests.prices.samples import price_list_line

ITEMS = {
    "A": {"itemCode": "A", "listPrice": "100.00", "currency": "EUR", "status": "ACTIVE"},
    "B": {"itemCode": "B", "listPrice": "4.15", "currency": "EUR", "status": "ACTIVE"},
    "ASK": {"itemCode": "ASK", "listPrice": None, "currency": "EUR", "status": "ACTIVE"},
    "OLD": {"itemCode": "OLD", "listPrice": "9.00", "currency": "EUR", "status": "PASSIVE"},
}


def line(line_id: str, item: str, price: str, *, price_list: str = "P1", **more: Any) -> dict[str, Any]:
    return price_list_line(line_id, item, price, price_list=price_list, **more)


BOOK = PriceBook(
    active_lines(
        [
            line("L-1", "A", "80.00"),
            line("L-2", "A", "75.00", minimum="10"),
            # From 2026-12-24 the list's price of B is 3.90; until then B is at its list price.
            line("L-3", "B", "3.90", start="2026-12-24T00:00:00Z"),
            line("X-1", "A", "120.00", currency="SEK", price_list="EXPORT"),
        ]
    )
)


def order(*lines: tuple[str, str, str], created: str = "2026-12-07T10:00:00Z", currency: str = "EUR") -> dict[str, Any]:
    return {
        "createdAt": created,
        "currency": currency,
        "lines": [
            {"sku": sku, "quantity": quantity, "unitPrice": price, "vatRate": "25.5"} for sku, quantity, price in lines
        ],
    }


def test_a_line_at_the_buyers_price_is_not_flagged_compared_as_decimals():
    assert check_order_prices(order(("A", "2", "80"), ("A", "10", "75.0000")), BOOK, ITEMS, "P1") == []


def test_a_line_at_another_price_names_the_expected_price_and_the_price_list_line():
    [flagged] = check_order_prices(order(("A", "2", "80.00"), ("A", "12", "80.00")), BOOK, ITEMS, "P1")
    assert (flagged.index, flagged.given, flagged.expected, flagged.set_by()) == (
        1,
        Decimal("80.00"),
        Decimal("75.00"),
        "price list P1 line L-2",
    )
    body = flagged.as_json()
    assert body["field"] == "lines[1].unitPrice"
    assert body["priceListLine"]["lineId"] == "L-2"
    assert body["currencyDiffers"] is False
    assert "lines[1].unitPrice: 80.00 EUR given, 75.00 EUR expected (price list P1 line L-2)" in mismatch_message(
        [flagged]
    )


def test_a_price_in_another_currency_than_the_orders_is_a_mismatch_named_as_such():
    [flagged] = check_order_prices(order(("A", "1", "120.00")), BOOK, ITEMS, "EXPORT")
    assert (flagged.expected, flagged.expected_currency, flagged.given_currency) == (Decimal("120.00"), "SEK", "EUR")
    assert flagged.currency_differs
    assert "(another currency)" in flagged.describe()


def test_a_guest_or_a_buyer_without_a_list_pays_the_list_price():
    assert check_order_prices(order(("A", "1", "100.00")), BOOK, ITEMS, None) == []
    [flagged] = check_order_prices(order(("A", "1", "80.00")), BOOK, ITEMS, None)
    assert (flagged.expected, flagged.set_by(), flagged.as_json()["priceListLine"]) == (
        Decimal("100.00"),
        "list price",
        None,
    )


def test_the_list_price_applies_where_the_list_has_no_line_for_the_item():
    assert check_order_prices(order(("B", "3", "4.15")), BOOK, ITEMS, "P1") == []


def test_the_price_is_the_one_in_force_at_the_orders_created_at_not_now():
    before, after = "2026-12-23T23:59:59Z", "2026-12-24T00:00:00Z"
    assert check_order_prices(order(("B", "1", "4.15"), created=before), BOOK, ITEMS, "P1") == []
    [flagged] = check_order_prices(order(("B", "1", "4.15"), created=after), BOOK, ITEMS, "P1")
    assert (flagged.expected, flagged.set_by()) == (Decimal("3.90"), "price list P1 line L-3")
    assert check_order_prices(order(("B", "1", "3.90"), created=after), BOOK, ITEMS, "P1") == []


def test_lines_without_a_price_to_compare_are_not_judged():
    """Price on request, an item not sold (PASSIVE) and an unknown item have no price to compare."""
    assert (
        check_order_prices(order(("ASK", "1", "1.00"), ("OLD", "1", "1.00"), ("NONE", "1", "1.00")), BOOK, ITEMS, "P1")
        == []
    )
