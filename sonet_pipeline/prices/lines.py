"""Price list lines as the rule reads them: Sonet's records (the contract's GraphQL shape, as the
snapshot yields them) parsed once into `Line`s; a record that cannot price anything is left out.

A line prices nothing when it is not ACTIVE, has no list, item or id, or its price, quantity break or
validity does not parse (the store's blocking `decimals_parse` rule holds such a snapshot back, so a
published one has none; an odd record never raises here). A line of an item not sold is kept: whether
the item is sold is the caller's question (`resolution.price_of` answers "list price" for it then).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

ACTIVE = "ACTIVE"


@dataclass(frozen=True)
class Line:
    """One ACTIVE line: `item_code` at `price` `currency` from `min_quantity` on, in [valid_from, valid_to)."""

    line_id: str
    price_list: str
    item_code: str
    price: Decimal
    currency: str
    min_quantity: Decimal
    valid_from: datetime | None
    valid_to: datetime | None

    def valid_at(self, at: datetime) -> bool:
        """`validFrom <= at < validTo`, a null bound open."""
        return (self.valid_from is None or self.valid_from <= at) and (self.valid_to is None or at < self.valid_to)

    def as_json(self) -> dict[str, Any]:
        """The line in the contract's field names, JSON-ready (decimals as text, instants ISO-8601 UTC)."""
        return {
            "lineId": self.line_id,
            "priceListCode": self.price_list,
            "itemCode": self.item_code,
            "price": str(self.price),
            "currency": self.currency,
            "minQuantity": str(self.min_quantity),
            "validFrom": instant_text(self.valid_from),
            "validTo": instant_text(self.valid_to),
        }


def active_lines(records: Iterable[Mapping[str, Any]]) -> list[Line]:
    """The records that can price something, as `Line`s (each record's latest version: the snapshot's)."""
    lines = []
    for record in records:
        line = parse_line(record)
        if line is not None:
            lines.append(line)
    return lines


def parse_line(record: Mapping[str, Any]) -> Line | None:
    """One record as a `Line`, or None when it prices nothing (see the module's docstring)."""
    if record.get("status") != ACTIVE:
        return None
    texts = [record.get(name) for name in ("lineId", "priceListCode", "itemCode", "currency")]
    if not all(isinstance(text, str) and text for text in texts):
        return None
    price, minimum = decimal(record.get("price")), decimal(record.get("minQuantity"))
    try:
        valid_from, valid_to = instant(record.get("validFrom")), instant(record.get("validTo"))
    except ValueError:
        return None
    if price is None or minimum is None:
        return None
    line_id, price_list, item_code, currency = (str(text) for text in texts)
    return Line(line_id, price_list, item_code, price, currency, minimum, valid_from, valid_to)


def decimal(value: Any) -> Decimal | None:
    """A Decimal sent as text ("59.90"), or None when it is not a finite number."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def instant(value: Any) -> datetime | None:
    """A DateTime as an aware datetime, None for null; ValueError when it is not an instant with an offset."""
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"an instant needs a UTC offset: {value!r}")
    return parsed


def instant_text(value: datetime | None) -> str | None:
    """An instant as the contract writes it: `2026-11-28T04:38:00.123Z`."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
