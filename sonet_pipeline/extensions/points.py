"""The five extension points, and what an extension at each may return.

Each point takes a batch of JSON-ready records and gives back one record per record, in order
(`schemas/<point>.payload.json`, `schemas/<point>.result.json`). Keys named in `IDENTITY_KEYS` must
come back unchanged: an extension reshapes a record, it never turns it into another one.
"""

from __future__ import annotations

#: A web order after intake validation, before it is mapped to a SalesOrder (the sender).
WEB_ORDER = "web_order"
#: A SalesOrder's XML before it is stored and sent; validated against `sales-order.xsd` after.
SALES_ORDER = "sales_order"
#: A synced record (items, customers, ...) before the shop's model reads it.
SYNCED_RECORD = "synced_record"
#: A login's rights: an extra rule before the tenant's rules, which may only restrict.
RIGHTS = "rights"
#: A catalogue line before it is published.
CATALOGUE_LINE = "catalogue_line"

POINTS = (WEB_ORDER, SALES_ORDER, SYNCED_RECORD, RIGHTS, CATALOGUE_LINE)

#: Per point, the keys of a record that a result must keep as given, when it has them.
IDENTITY_KEYS: dict[str, tuple[str, ...]] = {
    WEB_ORDER: ("orderNumber",),
    SALES_ORDER: ("message_id", "order_number"),
    SYNCED_RECORD: ("entity",),
    RIGHTS: (),
    CATALOGUE_LINE: ("sku",),
}


class UnknownPointError(ValueError):
    """A point name that is none of `POINTS`."""


def checked_point(name: str) -> str:
    """`name` when it is a point; else an error listing the points."""
    if name not in POINTS:
        raise UnknownPointError(f"unknown extension point {name!r}; the points are: {', '.join(POINTS)}")
    return name
