"""Orders for the order tests: the contract's example and a guest order matching its guest example."""

from __future__ import annotations

import json
from typing import Any

from lxml import etree

from sonet_pipeline import contract

B2B_MESSAGE_ID = "0b6f2f7e-5d1c-4c55-9a57-3f1b1c9a0e21"
GUEST_MESSAGE_ID = "7c1d9a44-0f0e-4a8e-b3a5-6d2c8e1f9b10"
#: What the synced items say of their own variants: BOOT-PRO-43 is the size-43 item, GLOVE-WORK has none.
OWN_ATTRIBUTES: dict[str, list[tuple[str, str]]] = {"BOOT-PRO-43": [("Size", "43")], "GLOVE-WORK": []}


def b2b_order() -> dict[str, Any]:
    return json.loads(contract.read_text("examples/commerce-order-b2b.json"))


def guest_order() -> dict[str, Any]:
    """The web-shop order behind `examples/sales-order-guest.xml`."""
    address = {"name": "Anna Virtanen", "street": "Kotikatu 1 A 2", "postalCode": "33100", "city": "Tampere"}
    return {
        "orderNumber": "WEB-100235",
        "createdAt": "2026-11-28T04:39:12+02:00",
        "currency": "EUR",
        "customer": {"kind": "guest", "name": "Anna Virtanen", "email": "anna.virtanen@example.fi"},
        "billingAddress": {**address, "countryCode": "FI"},
        "deliveryAddress": {**address, "countryCode": "FI"},
        "deliveryMethod": "POSTI-PAKETTI",
        "paymentMethod": "CARD",
        "lines": [{"sku": "BOOT-PRO-43", "quantity": "1", "unitPrice": "59.90", "vatRate": "25.5"}],
    }


def canonical(xml: bytes) -> bytes:
    """C14N with whitespace-only text between elements removed: how Sonet compares content."""
    root = etree.fromstring(xml)
    for element in root.iter():
        if len(element) and element.text is not None and not element.text.strip():
            element.text = None
        if element.tail is not None and not element.tail.strip():
            element.tail = None
    return etree.tostring(root, method="c14n")
