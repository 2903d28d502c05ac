"""Does each line of a web order carry the buyer's price? The judgement the intake and `orders enqueue`
apply (`intake/price_gate.py`); Sonet itself never checks an order's prices (contract 1.1, README
"Price lists").

A line's expected price is `PriceBook.price_of` for the line's item (`sku` as the itemCode), the
buyer's price list (the account's `priceListCode`; a guest has none: the item's list price), the
line's quantity, at the order's `createdAt`. The line is a mismatch when its `unitPrice` differs from
that price as Decimals, compared exactly (`4.15` equals `4.150`; `discountPercent` is the web shop's
own and not compared), or when the price is in another currency than the order's (named as such).
A line whose item has no price to compare is not judged: an item unknown or not sold (Sonet answers
UNKNOWN_ITEM, or the shop sells it on its own terms) or priced on request (no list price).
Pure: no store, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sonet_pipeline.prices.lines import instant
from sonet_pipeline.prices.resolution import LINE, LIST_PRICE, Price, PriceBook

PRICE_MISMATCH = "PRICE_MISMATCH"
#: What set a price that no price list line set.
LIST_PRICE_SOURCE = "list price"


@dataclass(frozen=True)
class PriceMismatch:
    """One order line whose price is not the buyer's: where, what was given, what was expected and why."""

    index: int
    sku: str
    given: Decimal
    given_currency: str
    expected: Decimal
    expected_currency: str
    price: Price  # the buyer's price: its source (a line or the list price) and the line

    @property
    def field(self) -> str:
        return f"lines[{self.index}].unitPrice"

    @property
    def currency_differs(self) -> bool:
        return self.given_currency != self.expected_currency

    def set_by(self) -> str:
        """What set the expected price: `price list P1 line L-7` or `list price`."""
        line = self.price.line
        return LIST_PRICE_SOURCE if line is None else f"price list {line.price_list} line {line.line_id}"

    def describe(self) -> str:
        """`lines[1].unitPrice: 4.15 EUR given, 3.90 EUR expected (price list P1 line L-7)`."""
        why = " (another currency)" if self.currency_differs else ""
        return (
            f"{self.field}: {self.given} {self.given_currency} given, {self.expected} {self.expected_currency} "
            f"expected{why} ({self.set_by()})"
        )

    def as_json(self) -> dict[str, Any]:
        """JSON-ready, for answers, the outbox and order status: decimals as text."""
        return {
            "line": self.index,
            "field": self.field,
            "sku": self.sku,
            "given": str(self.given),
            "givenCurrency": self.given_currency,
            "expected": str(self.expected),
            "expectedCurrency": self.expected_currency,
            "currencyDiffers": self.currency_differs,
            "setBy": self.set_by(),
            "priceListLine": None if self.price.line is None else self.price.line.as_json(),
        }


def check_order_prices(
    order: Mapping[str, Any],
    book: PriceBook,
    items: Mapping[str, Mapping[str, Any]],
    price_list: str | None,
) -> list[PriceMismatch]:
    """The lines of the schema-valid `order` whose price is not the buyer's, in line order (none: all
    agree). `items`: the tenant's item records by itemCode; `price_list`: the buyer's list (None: a
    guest or an account without one)."""
    at = instant(order["createdAt"])
    assert at is not None  # a schema-valid order has a date-time createdAt
    currency = str(order["currency"])
    mismatches = []
    for index, line in enumerate(order["lines"]):
        sku = str(line["sku"])
        price = book.price_of(items.get(sku), price_list, Decimal(line["quantity"]), at)
        if price.source not in (LINE, LIST_PRICE) or price.amount is None or price.currency is None:
            continue  # nothing to compare: not sold, unknown, or price on request
        given = Decimal(line["unitPrice"])
        if given != price.amount or currency != price.currency:
            mismatches.append(PriceMismatch(index, sku, given, currency, price.amount, price.currency, price))
    return mismatches


def mismatch_message(mismatches: list[PriceMismatch], at: datetime | str | None = None) -> str:
    """One sentence naming every mismatched line, its given and expected price and what set it."""
    when = f" at {at}" if at else ""
    listed = "; ".join(mismatch.describe() for mismatch in mismatches)
    return f"{len(mismatches)} line(s) not at the buyer's price{when}: {listed}"
