"""The buyer's price as a web shop reads it from the published `prices.jsonl` (docs/shop.md "Prices").

A record per price list and item holds periods (`validFrom` null: since the publish; `validTo` null:
until a later publish), each with its quantity breaks: the price of quantity q is the break with the
greatest `minQuantity <= q` in the period holding the order's moment; no period, or no break that
fits, means the catalogue's (list) price. The shop sends the price it showed, so the intake finds the
order at its buyer's price.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

PriceKey = tuple[str, str]  # (priceListCode, itemCode)


def index_prices(records: Iterable[Mapping[str, Any]]) -> dict[PriceKey, list[Mapping[str, Any]]]:
    """`prices.jsonl`'s records as the periods of each (list, item)."""
    index: dict[PriceKey, list[Mapping[str, Any]]] = {}
    for record in records:
        price_list, item = record.get("priceListCode"), record.get("itemCode")
        periods = record.get("periods")
        if isinstance(price_list, str) and isinstance(item, str) and isinstance(periods, list):
            index[price_list, item] = [p for p in periods if isinstance(p, Mapping)]
    return index


def buyer_price(
    prices: Mapping[PriceKey, list[Mapping[str, Any]]],
    price_list: str | None,
    sku: str,
    quantity: Decimal,
    at: datetime,
) -> tuple[str, str] | None:
    """(price, currency) of the break that prices `quantity` of `sku` at `at` for the list, or None
    (no list, no record, no period or break that fits: the catalogue's price)."""
    if price_list is None:
        return None
    for period in prices.get((price_list, sku), ()):
        if not _holds(period, at):
            continue
        fitting = [b for b in period.get("breaks") or [] if _number(b.get("minQuantity"), quantity)]
        if not fitting:
            return None
        best = max(fitting, key=lambda b: Decimal(str(b["minQuantity"])))
        price, currency = best.get("price"), best.get("currency")
        return (price, currency) if isinstance(price, str) and isinstance(currency, str) else None
    return None


def _holds(period: Mapping[str, Any], at: datetime) -> bool:
    start, end = _instant(period.get("validFrom")), _instant(period.get("validTo"))
    return (start is None or start <= at) and (end is None or at < end)


def _instant(value: Any) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None


def _number(minimum: Any, quantity: Decimal) -> bool:
    """Whether the break's `minQuantity` is a number not above `quantity`."""
    try:
        return Decimal(str(minimum)) <= quantity
    except InvalidOperation:
        return False
