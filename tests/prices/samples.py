"""Price list lines of the price tests, as Sonet sends them (`tests.store.samples.price_line`), by the
names the tests speak of: an ACTIVE line of `item` at `price` from 1 on, open-ended, unless told."""

from __future__ import annotations

from typing import Any

from tests.store.samples import price_line


def price_list_line(
    line_id: str,
    item: str,
    price: str,
    *,
    price_list: str = "L1",
    minimum: str = "1",
    start: str | None = None,
    end: str | None = None,
    status: str = "ACTIVE",
    currency: str = "EUR",
    modified: str = "2026-12-01T00:00:00.000Z",
) -> dict[str, Any]:
    """A price list line of `price_list`: `minimum` the minQuantity, `start`/`end` its validity."""
    return price_line(
        line_id,
        item,
        priceListCode=price_list,
        price=price,
        currency=currency,
        minQuantity=minimum,
        validFrom=start,
        validTo=end,
        status=status,
        dateModified=modified,
    )
