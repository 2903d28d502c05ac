"""What the web shop shows its buyer per web order: the outbox's word, corrected by what Sonet holds.

| the outbox says    | Sonet lists the MessageId | status     | Sonet's numbers               |
| ------------------ | ------------------------- | ---------- | ----------------------------- |
| pending, sending   | no                        | `received` | none                          |
| sent               | no (not synced yet)       | `sent`     | the outbox's order number     |
| any                | yes                       | `sent`     | Sonet's order number, status  |
| failed             | no                        | `failed`   | none; `reason` from the error |

Sonet's `salesOrders` list is the proof of acceptance (only acceptance binds a MessageId), so a message
Sonet lists is `sent` whatever the outbox says: a `sending` message whose answer was lost, or a failed
one that Sonet accepted after all (`outbox reconcile` settles both). A transient error on a pending
message is not shown (the order is still on its way). `priceMismatches` lists the order's lines the
intake found not at the buyer's price (`intake/price_gate.py`: each line, the given and the expected
price, the price list line that set it or `list price`), null when none. Pure: no store, no Dagster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sonet_pipeline.outbox.model import FAILED, SENT, Message, aware, format_instant

RECEIVED_STATUS, SENT_STATUS, FAILED_STATUS = "received", "sent", "failed"


def order_statuses(messages: Iterable[Message], sales_orders: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per message (one tenant's), sorted by orderNumber; `sales_orders` are Sonet's records in
    the contract's shape (`messageId`, `sonetOrderNumber`, `orderStatus`, `dateModified`, ...). Sales
    orders of no message are ignored (reconcile reports them)."""
    by_message = _latest_by_message(sales_orders)
    rows = [_row(message, by_message.get(message.message_id)) for message in messages]
    return sorted(rows, key=lambda row: (row["orderNumber"], row["messageId"]))


def _row(message: Message, sales_order: Mapping[str, Any] | None) -> dict[str, Any]:
    if sales_order is not None:
        status, sonet_number = SENT_STATUS, sales_order.get("sonetOrderNumber") or message.sonet_order_number
    elif message.state == SENT:
        status, sonet_number = SENT_STATUS, message.sonet_order_number
    elif message.state == FAILED:
        status, sonet_number = FAILED_STATUS, None
    else:  # pending, sending: on its way to Sonet
        status, sonet_number = RECEIVED_STATUS, None
    error = message.error if status == FAILED_STATUS else None
    modified = _instant(sales_order.get("dateModified")) if sales_order is not None else None
    updated = max(aware(message.updated_at), modified) if modified else aware(message.updated_at)
    return {
        "orderNumber": message.order_number,
        "messageId": message.message_id,
        "customerNumber": _customer_number(message.order) or (sales_order or {}).get("customerNumber"),
        "status": status,
        "sonetOrderNumber": sonet_number,
        "sonetOrderStatus": sales_order.get("orderStatus") if sales_order is not None else None,
        "reason": {"code": error.code, "message": error.message, "field": error.field} if error else None,
        "priceMismatches": message.price_mismatches,
        "receivedAt": format_instant(message.created_at),
        "updatedAt": format_instant(updated),
    }


def _customer_number(order: Mapping[str, Any]) -> str | None:
    """The web order's `customer.customerNumber` (an account's; a guest has none)."""
    customer = order.get("customer") if isinstance(order, Mapping) else None
    number = customer.get("customerNumber") if isinstance(customer, Mapping) else None
    return number if isinstance(number, str) and number else None


def _latest_by_message(sales_orders: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Sales orders by MessageId; of two with one MessageId (a list read twice), the later modified."""
    latest: dict[str, Mapping[str, Any]] = {}
    for order in sales_orders:
        message_id = order.get("messageId")
        if not message_id:
            continue
        held = latest.get(message_id)
        if held is None or _order_key(order) > _order_key(held):
            latest[message_id] = order
    return latest


def _order_key(order: Mapping[str, Any]) -> tuple[datetime, str, str]:
    modified = _instant(order.get("dateModified")) or datetime.min.replace(tzinfo=UTC)
    return modified, str(order.get("sonetOrderNumber") or ""), str(order.get("orderStatus") or "")


def _instant(value: str | datetime | None) -> datetime | None:
    """A contract DateTime (`2026-11-28T04:38:00.123Z`, any offset) or a datetime, in UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return aware(value)
    return aware(datetime.fromisoformat(value))
