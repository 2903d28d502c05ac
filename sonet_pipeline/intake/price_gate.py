"""The buyers' prices at the door: is each line of this order at its buyer's price? For the intake and
`orders enqueue`, which judge alike.

The prices come from the tenant's published snapshot (`published.PublishedView`: kept, rechecked every
5 s, rebuilt when the customers, segments, items or price list lines changed): every ACTIVE price list
line (`PriceBook`), the items by itemCode, and each account's `priceListCode` as the shop publishes it
(`rights.accounts.build_accounts`). The buyer is the one the rights gate identifies: an account order's
`customer.customerNumber` (its list; none: the list price); a guest pays the item's list price.

`judge_prices` answers the lines not at the buyer's price at the order's `createdAt`
(`prices.order_check`); none while the prices are not known (no snapshot with those four entities
synced): the order is then not judged, and taken. What follows a mismatch is the tenant's
`order_prices.mismatch`: `flag` (taken; the answer, the outbox and the order status name the lines)
or `refuse` (422 PRICE_MISMATCH, nothing stored). Sonet itself never checks prices.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.intake.published import PublishedView
from sonet_pipeline.intake.rights_gate import is_account_order
from sonet_pipeline.prices.lines import active_lines
from sonet_pipeline.prices.order_check import PRICE_MISMATCH, PriceMismatch, check_order_prices, mismatch_message
from sonet_pipeline.prices.resolution import PriceBook
from sonet_pipeline.rights.accounts import build_accounts
from sonet_pipeline.store import Snapshot

#: The entities the prices are built from.
SOURCES = ("customers", "segments", "items", "price_list_lines")
#: The fields of an item `PriceBook.price_of` reads.
_ITEM_FIELDS = ("itemCode", "status", "listPrice", "currency")


@dataclass(frozen=True)
class BuyerPrices:
    """A tenant's published prices: the lines, the items by itemCode, each account's price list."""

    book: PriceBook
    items: Mapping[str, Mapping[str, Any]]
    price_lists: Mapping[str, str | None]  # accountId -> priceListCode

    @classmethod
    def build(cls, tenant: Tenant, snapshot: Snapshot) -> BuyerPrices:
        accounts = build_accounts(snapshot.records("customers"), snapshot.records("segments"))
        items = {  # only what a price needs: 100,000 items' whole records would hold some 100 MB more
            str(item["itemCode"]): {name: item.get(name) for name in _ITEM_FIELDS}
            for item in snapshot.records("items")
            if item.get("itemCode")
        }
        return cls(
            PriceBook(active_lines(snapshot.records("price_list_lines"))),
            items,
            {account["accountId"]: account.get("priceListCode") for account in accounts.accounts},
        )


class PublishedPrices(PublishedView[BuyerPrices]):
    """Each tenant's `BuyerPrices` from its published snapshot, kept and refreshed. Thread-safe."""

    what = "prices"
    sources = SOURCES

    def build(self, tenant: Tenant, snapshot: Snapshot) -> BuyerPrices:
        return BuyerPrices.build(tenant, snapshot)


def buyer_price_list(order: Mapping[str, Any], prices: BuyerPrices) -> str | None:
    """The list the order's buyer buys from: its account's; a guest (or an account without one) none."""
    if not is_account_order(order):
        return None
    return prices.price_lists.get(str(order["customer"].get("customerNumber", "")))


def judge_prices(order: Mapping[str, Any], prices: BuyerPrices | None) -> list[PriceMismatch]:
    """The schema-valid `order`'s lines not at the buyer's price (none when the prices are not known)."""
    if prices is None:
        return []
    return check_order_prices(order, prices.book, prices.items, buyer_price_list(order, prices))


def price_error(order: Mapping[str, Any], mismatches: list[PriceMismatch]) -> dict[str, Any]:
    """The error body's `error` of a refused order: the standard keys, then every line (`lines`)."""
    return {
        "code": PRICE_MISMATCH,
        "message": mismatch_message(mismatches, order.get("createdAt")),
        "field": mismatches[0].field,
        "lines": [mismatch.as_json() for mismatch in mismatches],
    }


def price_notes(mismatches: list[PriceMismatch]) -> list[dict[str, Any]] | None:
    """What a flagged order carries (answers, the outbox): each line's mismatch; None for none."""
    return [mismatch.as_json() for mismatch in mismatches] or None
