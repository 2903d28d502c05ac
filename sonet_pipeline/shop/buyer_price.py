"""A buyer's price as the shop shows it, from the published files alone: the account's price list
(`accounts.jsonl`), the item as the catalogue sells it (`catalogue.jsonl`: a simple product, a
variant or an option, by sku) and the lines of `prices.jsonl`, by the contract's rule
(`prices.resolution`). What `sonet-pipeline shop price` answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sonet_pipeline.prices.lines import ACTIVE, instant_text
from sonet_pipeline.prices.published import published_lines
from sonet_pipeline.prices.resolution import LINE, LIST_PRICE, NOT_SOLD, ON_REQUEST, Price, PriceBook


@dataclass(frozen=True)
class Sold:
    """An orderable sku of the catalogue: its Sonet item, list price (None: on request) and currency."""

    sku: str
    item_code: str
    list_price: str | None
    currency: str | None

    def as_item(self) -> dict[str, Any]:
        """The item as the price rule reads it (the contract's field names)."""
        return {"itemCode": self.item_code, "status": ACTIVE, "listPrice": self.list_price, "currency": self.currency}


def sold_skus(catalogue: Iterable[Mapping[str, Any]]) -> tuple[dict[str, Sold], dict[str, list[str]]]:
    """The orderable skus of the published catalogue (simple products, variants, options), and each
    configurable product's skus (not orderable itself: the buyer picks one of them)."""
    sold: dict[str, Sold] = {}
    models: dict[str, list[str]] = {}
    for product in catalogue:
        sku, currency = _text(product.get("sku")), _text(product.get("currency"))
        if sku is None:
            continue
        if product.get("type") == "simple" and _text(product.get("itemCode")):
            sold[sku] = Sold(sku, str(product["itemCode"]), _text(product.get("price")), currency)
            continue
        children = product.get("variants")
        models[sku] = []
        for child in children if isinstance(children, list) else []:
            child_sku = _text(child.get("sku")) if isinstance(child, Mapping) else None
            code = _text(child.get("itemCode")) if isinstance(child, Mapping) else None
            if child_sku is not None and code is not None:
                sold[child_sku] = Sold(child_sku, code, _text(child.get("price")), currency)
                models[sku].append(child_sku)
    return sold, models


@dataclass(frozen=True)
class Answer:
    """One buyer's price of one sku at a quantity and instant, and what decided it."""

    account: str
    price_list: str | None
    sku: str
    item_code: str | None
    quantity: Decimal
    at: datetime
    price: Price
    note: str

    def as_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "priceListCode": self.price_list,
            "sku": self.sku,
            "itemCode": self.item_code,
            "quantity": str(self.quantity),
            "at": instant_text(self.at),
            **self.price.as_json(),
            "note": self.note,
        }


def buyer_price(
    account: Mapping[str, Any],
    sold: Sold | None,
    sku: str,
    price_records: Iterable[Mapping[str, Any]],
    quantity: Decimal,
    at: datetime,
    *,
    not_sold_because: str = "not in the published catalogue",
) -> Answer:
    """The price of `sold` (None: a sku the shop does not sell) for `account` (its accounts.jsonl row)."""
    account_id = str(account.get("accountId"))
    price_list = _text(account.get("priceListCode"))
    item = sold.as_item() if sold is not None else None
    price = PriceBook(published_lines(price_records)).price_of(item, price_list, quantity, at)
    return Answer(
        account_id,
        price_list,
        sku,
        sold.item_code if sold else None,
        quantity,
        at,
        price,
        _note(price, price_list, not_sold_because),
    )


def _note(price: Price, price_list: str | None, not_sold_because: str) -> str:
    if price.source == LINE and price.line is not None:
        return f"line {price.line.line_id} of price list {price.line.price_list}"
    if price.source == NOT_SOLD:
        return f"not sold: {not_sold_because}"
    why = f"no line of price list {price_list} applies" if price_list else "the account has no price list"
    if price.source == LIST_PRICE:
        return f"the item's list price: {why}"
    assert price.source == ON_REQUEST
    return f"price on request: {why}, and the item has no list price"


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
