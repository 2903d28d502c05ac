"""Orders, instants and shortcuts that bring a message into a given state."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from sonet_pipeline.outbox import Message, Outbox

T0 = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
TENANT = "acme"

_ORDER: dict[str, Any] = {
    "orderNumber": "WEB-1",
    "createdAt": "2026-11-28T04:38:00Z",
    "currency": "EUR",
    "customer": {"kind": "account", "customerNumber": "C10042"},
    "billingAddress": {
        "name": "Mäkinen",
        "street": "Teollisuuskatu 12",
        "postalCode": "00510",
        "city": "Helsinki",
        "countryCode": "FI",
    },
    "deliveryAddress": {
        "name": "Työmaa",
        "street": "Capellan puistotie 3",
        "postalCode": "00580",
        "city": "Helsinki",
        "countryCode": "FI",
    },
    "deliveryMethod": "POSTI-B2B",
    "paymentMethod": "INVOICE-14",
    "lines": [
        {
            "sku": "GLOVE-WORK",
            "quantity": "12",
            "unitPrice": "4.15",
            "vatRate": "25.5",
            "variant": {"Size": "L", "Colour": "Blue"},
        }
    ],
}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def order(number: str = "WEB-1", **changes: Any) -> dict[str, Any]:
    """A web-shop order (valid per the contract's schema) with `changes` applied at the top level."""
    return {**copy.deepcopy(_ORDER), "orderNumber": number, **changes}


def pending(outbox: Outbox, number: str = "WEB-1", *, tenant: str = TENANT, now: datetime = T0) -> str:
    return outbox.enqueue(tenant, order(number), actor="intake", now=now).message_id


def sending(
    outbox: Outbox, number: str = "WEB-1", *, tenant: str = TENANT, owner: str = "run-1", xml: bytes | None = b"<x/>"
) -> str:
    """A message claimed by `owner` (and built, unless `xml` is None); the only due one of `tenant`."""
    message_id = pending(outbox, number, tenant=tenant)
    claimed = outbox.claim(tenant, now=at(1), limit=1, owner=owner, claim_seconds=60)
    assert [m.message_id for m in claimed] == [message_id], "the helpers expect one due message per tenant"
    if xml is not None:
        outbox.record_built(message_id, xml, now=at(1))
    return message_id


def sent(outbox: Outbox, number: str = "WEB-1", *, tenant: str = TENANT, sonet_order_number: str = "SO-1") -> str:
    message_id = sending(outbox, number, tenant=tenant)
    outbox.mark_sent(message_id, sonet_order_number=sonet_order_number, duplicate=False, actor="run-1", now=at(2))
    return message_id


def failed(outbox: Outbox, number: str = "WEB-1", *, tenant: str = TENANT, code: str = "UNKNOWN_ITEM") -> str:
    message_id = sending(outbox, number, tenant=tenant)
    field = "Lines/Line[1]/ItemCode"
    outbox.mark_failed(message_id, code=code, message="no such item", field=field, actor="run-1", now=at(2))
    return message_id


def state_of(outbox: Outbox, message_id: str) -> Message:
    message = outbox.get(message_id)
    assert message is not None
    return message
