"""Raw Query API nodes for store tests, derived from the contract so the tests follow it field by field."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sonet_pipeline.sonet.entities import BOOLEAN, DATETIME, DECIMAL, INTEGER, JSON, Entity

SYNCED_AT = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)
#: The same kind of instants Sonet may send: any offset, 0 to 9 fraction digits.
INSTANTS = (
    "2026-11-28T04:38:00.123Z",
    "2026-11-28T06:38:00.5+02:00",
    "2026-11-27T23:08:00-05:30",
    "2026-11-28T04:38:00.123456789Z",
    "2026-11-28T04:38:00.120+00:00",
)
DECIMALS = ("59.90", "-1.5", "0.000", "1234567890.123456789", "7")
#: A customer's billing address, as Sonet lists it.
BILLING_ADDRESS = {
    "type": "BILLING",
    "name": None,
    "street": "Katu 1",
    "postalCode": "00100",
    "city": "Helsinki",
    "countryCode": "FI",
}


def node(entity: Entity, i: int, **overrides: Any) -> dict[str, Any]:
    """A valid node of `entity`: every contract field set, nullable ones null on odd `i`."""
    record: dict[str, Any] = {}
    for field in entity.fields:
        if field.nullable and i % 2:
            record[field.name] = None
        elif field.name == entity.key:
            record[field.name] = f"K{i:05d}"
        elif field.name == "status":
            record[field.name] = "ACTIVE"
        elif field.kind == BOOLEAN:
            record[field.name] = i % 3 == 0
        elif field.kind == INTEGER:
            record[field.name] = i
        elif field.kind == DECIMAL:
            record[field.name] = DECIMALS[i % len(DECIMALS)]
        elif field.kind == DATETIME:
            record[field.name] = INSTANTS[i % len(INSTANTS)]
        elif field.kind == JSON:
            record[field.name] = [{"name": "Koko", "value": f"4{i % 10}"}, {"z": "ä", "a": [2, 1], "m": None}]
        else:
            record[field.name] = f"{field.name} {i} – Mäkinen & Poika"
    record.update(overrides)
    return record


def item(code: str, modified: str = "2026-11-28T04:38:00.000Z", **overrides: Any) -> dict[str, Any]:
    """A plain ACTIVE item; overrides set any field."""
    record = {
        "itemCode": code,
        "name": f"Item {code}",
        "description": None,
        "modelCode": None,
        "modelName": None,
        "variantAttributes": [],
        "productGroup": "SHOES",
        "unit": "PCS",
        "ean": None,
        "listPrice": "59.90",
        "currency": "EUR",
        "vatRate": "25.5",
        "stockBalance": "12",
        "webVisible": True,
        "status": "ACTIVE",
        "dateModified": modified,
    }
    record.update(overrides)
    return record


def customer(number: str, segments: list[str], **overrides: Any) -> dict[str, Any]:
    record = {
        "customerNumber": number,
        "name": f"Customer {number}",
        "businessId": None,
        "vatNumber": None,
        "email": None,
        "phone": None,
        "segmentCodes": segments,
        "priceListCode": None,
        "paymentTermsCode": None,
        "creditLimit": None,
        "orderBlocked": False,
        "addresses": [],
        "contacts": [],
        "status": "ACTIVE",
        "dateModified": "2026-11-28T04:38:00.000Z",
    }
    record.update(overrides)
    return record


def segment(code: str, **overrides: Any) -> dict[str, Any]:
    record = {
        "segmentCode": code,
        "name": f"Segment {code}",
        "customerType": "B2B",
        "priceListCode": None,
        "status": "ACTIVE",
        "dateModified": "2026-11-28T04:38:00.000Z",
    }
    record.update(overrides)
    return record


def price_line(line_id: str, item_code: str, **overrides: Any) -> dict[str, Any]:
    """An ACTIVE base line (from 1, open-ended) of list PL-A; overrides set any field."""
    record = {
        "lineId": line_id,
        "priceListCode": "PL-A",
        "itemCode": item_code,
        "price": "49.90",
        "currency": "EUR",
        "minQuantity": "1",
        "validFrom": None,
        "validTo": None,
        "status": "ACTIVE",
        "dateModified": "2026-11-28T04:38:00.000Z",
    }
    record.update(overrides)
    return record


def instant(text: str) -> datetime:
    """An ISO-8601 instant with an offset, as an aware UTC datetime (microseconds; finer digits cut)."""
    stamp, fraction, offset = re.fullmatch(r"([^.]+?)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d)", text).groups()  # type: ignore[union-attr]
    micros = (fraction or "")[:6].ljust(6, "0")
    return datetime.fromisoformat(f"{stamp}.{micros}{offset.upper().replace('Z', '+00:00')}").astimezone(UTC)
