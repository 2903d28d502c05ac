"""The shop's published rights at the door: may this order be placed? For the intake and `orders enqueue`.

Each tenant's rights come from its published snapshot (`store.open_snapshot`: the parquet files a
sync publishes, never the DuckDB file, which has one writer), built into a `RightsBook` exactly as
the shop builds `rights.jsonl`, and kept (`published.PublishedView`). At most every `check_seconds`
(5 s) the snapshot's manifest is read again; the book is rebuilt only when the customers' or
segments' fingerprint changed (about 0.3 s per 1,000 customers here), by the request that finds the
change while the others go on with the kept book. So a rights change in Sonet is enforced one sync
later, when the shop shows it too.

`judge_rights(tenant, order, book)` on a schema-valid order (`book`: `PublishedRights.book(tenant)`,
read for account orders only) answers None (may be placed) or a `RightsRefusal`:

- `NOT_ALLOWED`: a guest order when the tenant's `order_rights.guest_orders` is false (rule
  `guest_orders`), or what `RightsBook.judge` finds (no account, no login, a rule that refuses
  ordering, a blocked customer, over the login's order limit). The tenant's `order_rights.not_allowed`
  says whether it is refused (422, nothing stored) or stored as `failed` for an operator.
- `RIGHTS_UNKNOWN`: an account order while the tenant has no published snapshot with its customers
  and segments synced (no sync yet, or an initial load still on its way), or the snapshot cannot be
  read and no earlier book is kept. The rights cannot be known, so the order is not taken: HTTP 503
  with `Retry-After` (not the order's fault: the web shop keeps it and retries after the first
  sync), and `orders enqueue` refuses it (exit 1). It is never stored, whatever `not_allowed` says.
  Guest orders do not need the snapshot.

A snapshot that cannot be read while a book is kept: the kept book goes on deciding (logged).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.extensions.chains import TenantChains
from sonet_pipeline.intake.published import CHECK_SECONDS as CHECK_SECONDS
from sonet_pipeline.intake.published import PublishedView
from sonet_pipeline.orders.sales_order_rules import add, line_total
from sonet_pipeline.rights.book import RightsBook
from sonet_pipeline.store import Snapshot

NOT_ALLOWED = "NOT_ALLOWED"
RIGHTS_UNKNOWN = "RIGHTS_UNKNOWN"
GUEST_RULE = "guest_orders"
#: The fixed rule of a RIGHTS_UNKNOWN refusal.
NO_SNAPSHOT_RULE = "no_snapshot"
#: The entities the rights are built from (`shop/inputs.py`: rights depend on these and the config).
_SOURCES = ("customers", "segments")


@dataclass(frozen=True)
class RightsRefusal:
    """Why the rights do not let an order in: `code` NOT_ALLOWED or RIGHTS_UNKNOWN, the deciding rule,
    the limit when the limit decided."""

    code: str
    message: str
    field: str | None
    rule: str
    limit: str | None = None

    def error(self) -> dict[str, Any]:
        """The error body's `error` object: the standard keys, then `rule` and `limit`."""
        return {"code": self.code, "message": self.message, "field": self.field, "rule": self.rule, "limit": self.limit}


class PublishedRights(PublishedView[RightsBook]):
    """Each tenant's `RightsBook` from its published snapshot, kept and refreshed. Thread-safe."""

    what = "rights"
    sources = _SOURCES

    def build(self, tenant: Tenant, snapshot: Snapshot) -> RightsBook:
        extensions = TenantChains(tenant.name, tenant.extensions.specs(tenant.name))
        customers, segments = snapshot.records("customers"), snapshot.records("segments")
        return RightsBook.build(customers, segments, tenant.shop.rights, extensions)

    def described(self, view: RightsBook) -> str:
        return f"rights of {len(view.rights)} logins"

    def book(self, tenant: Tenant) -> RightsBook | None:
        """The tenant's rights now; None while they cannot be known (no snapshot with customers yet).
        May read the snapshot (blocking): call it in a worker thread unless `fresh`."""
        return self.get(tenant)


def is_account_order(order: Mapping[str, Any]) -> bool:
    """Whether judging `order` needs the tenant's rights book (a guest order does not)."""
    customer = order.get("customer")
    return isinstance(customer, Mapping) and customer.get("kind") == "account"


def judge_rights(tenant: Tenant, order: Mapping[str, Any], book: RightsBook | None) -> RightsRefusal | None:
    """None when the schema-valid `order` may be placed by the tenant's published rights (`book`, read
    for account orders; None: not known yet); else why not."""
    customer = order["customer"]
    if not is_account_order(order):
        if tenant.order_rights.guest_orders:
            return None
        message = f"tenant {tenant.name!r} takes no guest orders (order_rights.guest_orders is false)"
        return RightsRefusal(NOT_ALLOWED, message, "customer.kind", GUEST_RULE)
    if book is None:
        message = (
            f"the rights of tenant {tenant.name!r} are not known yet (no sync has published its customers); retry later"
        )
        return RightsRefusal(RIGHTS_UNKNOWN, message, None, NO_SNAPSHOT_RULE)
    refused = book.judge(customer, lambda: net_total(order))
    if refused is None:
        return None
    return RightsRefusal(NOT_ALLOWED, refused.message, refused.field, refused.rule, refused.limit)


def net_total(order: Mapping[str, Any]) -> Decimal:
    """The order's net total (VAT excluded): the sum of its line totals as the SalesOrder's `Net`."""
    total = Decimal(0)
    for line in order["lines"]:
        discount = Decimal(line.get("discountPercent", "0"))
        total = add(total, line_total(Decimal(line["quantity"]), Decimal(line["unitPrice"]), discount))
    return total
