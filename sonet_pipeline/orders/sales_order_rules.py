"""The facets of `sales-order.xsd` that the web-shop order's looser JSON schema does not guarantee.

Each function takes one value of a schema-valid web-shop order and the JSON path it came from, and either
returns what goes into the SalesOrder or raises `Refusal` naming that path. What may change on the way:

- free texts (names, streets, cities, references, comments, AdditionalInfo, a guest's name and phone):
  characters that XML 1.0 forbids are dropped, then the text is cut to Sonet's limit in code points
  (a Python `str` is a sequence of code points, so a cut never splits a surrogate pair; a combining mark
  beyond the limit is dropped like any other character);
- nothing else: codes, amounts, quantities, percentages, dates, postal codes and e-mail addresses are
  copied as written, or refused.

The amounts follow the contract: `LineTotal = round_half_up(Quantity * UnitPrice * (1 - DiscountPercent/100),
2)`, `Vat = sum(round_half_up(LineTotal * VatRate / 100, 2))`, `Net = sum(LineTotal)`, `Gross = Net + Vat`,
computed exactly in `decimal` (the context holds far more digits than any product the checks let through).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Context, Decimal

#: Sonet's text limits (`Text80`, `Text240`, `Text1000` of the XSD), in code points.
TEXT80, TEXT240, TEXT1000 = 80, 240, 1000

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-/]{0,39}")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_DECIMAL = re.compile(r"([0-9]+)(?:\.([0-9]+))?")
# xs:dateTime as libxml2 accepts it, for the dates fastjsonschema's date-time format lets through (which
# already guarantee a real calendar date with a four-digit year): upper-case T, seconds below 60, the
# offset as Z or ±hh:mm within ±14:00, and no year 0000.
_XS_DATE_TIME = re.compile(
    r"(?!0000)[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
    r"(?:Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
)
_AMOUNTS = Context(prec=100, rounding=ROUND_HALF_UP)
_CENT = Decimal("0.01")
_HUNDRED = Decimal(100)
#: `Money` of the XSD: at most 14 digits in all (of which 2 after the point).
_MONEY_DIGITS = 14


class Refusal(Exception):
    """The order cannot become a valid SalesOrder because of the value at `field` (a JSON path)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _shown(value: str) -> str:
    return repr(value) if len(value) <= 60 else f"{value[:57]!r}..."


def code(value: str, field: str) -> str:
    """A Sonet `Code`, unchanged."""
    if not _CODE.fullmatch(value):
        raise Refusal(
            field,
            f"{field} {_shown(value)} is not a Sonet code: 1 to 40 characters of A-Z a-z 0-9 . _ - /, "
            "the first a letter or digit",
        )
    return value


def letters(value: str, count: int, field: str) -> str:
    """A currency (3) or country code (2): capital letters A-Z, unchanged."""
    if len(value) != count or not value.isascii() or not value.isalpha() or not value.isupper():
        raise Refusal(field, f"{field} {_shown(value)} is not {count} capital letters A-Z")
    return value


def text(value: str, limit: int, field: str, *, required: bool) -> str | None:
    """A free text without the characters XML 1.0 forbids, cut to `limit` code points.

    None when nothing is left of an optional text; `Refusal` when nothing is left of a required one.
    """
    cleaned = _NOT_XML.sub("", value) if _NOT_XML.search(value) else value
    if cleaned:
        return cleaned[:limit]
    if required:
        what = "is empty" if not value else "has only characters that XML cannot carry"
        raise Refusal(field, f"{field} {what}; Sonet needs at least one character")
    return None


def exact_text(value: str, limit: int, field: str) -> str:
    """A value that is never altered (e-mail, postal code): 1 to `limit` characters XML can carry."""
    if _NOT_XML.search(value):
        raise Refusal(field, f"{field} {_shown(value)} contains characters that XML cannot carry")
    if not 1 <= len(value) <= limit:
        raise Refusal(field, f"{field} has {len(value)} characters; Sonet takes 1 to {limit}")
    return value


def order_date(value: str, field: str) -> str:
    """`createdAt` as given, when it is also an `xs:dateTime` Sonet accepts."""
    if not _XS_DATE_TIME.fullmatch(value):
        raise Refusal(
            field,
            f"{field} {_shown(value)} is not an xs:dateTime Sonet accepts: it needs an upper-case T, seconds "
            "below 60, a year from 0001 and the offset as Z or ±hh:mm between -14:00 and +14:00",
        )
    return value


def decimal(
    value: str,
    field: str,
    *,
    fraction: int,
    total: int | None = None,
    positive: bool = False,
    at_most: int | None = None,
) -> Decimal:
    """A non-negative decimal written `123.45`, within the XSD's facets, as a `Decimal` of equal value.

    Digits are counted as XML Schema counts them, by value: leading zeros and trailing zeros after the
    point do not count (`0012.500` has 3 digits in all, 1 after the point).
    """
    parts = _DECIMAL.fullmatch(value)
    if parts is None:
        raise Refusal(field, f"{field} {_shown(value)} is not a decimal number like 12.5")
    whole, after = parts[1].lstrip("0"), (parts[2] or "").rstrip("0")
    if len(after) > fraction:
        raise Refusal(field, f"{field} {value} has {len(after)} digits after the point; Sonet takes {fraction}")
    if total is not None and len(whole) + len(after) > total:
        raise Refusal(field, f"{field} {_shown(value)} has more than {total} digits; Sonet takes {total} in all")
    number = Decimal(value)
    if positive and not number:
        raise Refusal(field, f"{field} is {value}; Sonet needs more than 0")
    if at_most is not None and number > at_most:
        raise Refusal(field, f"{field} is {value}; Sonet takes at most {at_most}")
    return number


def line_total(quantity: Decimal, unit_price: Decimal, discount_percent: Decimal) -> Decimal:
    """`round_half_up(Quantity * UnitPrice * (1 - DiscountPercent/100), 2)`."""
    c = _AMOUNTS
    exact = c.divide(c.multiply(c.multiply(quantity, unit_price), c.subtract(_HUNDRED, discount_percent)), _HUNDRED)
    return exact.quantize(_CENT, rounding=ROUND_HALF_UP, context=c)


def line_vat(total: Decimal, vat_rate: Decimal) -> Decimal:
    """`round_half_up(LineTotal * VatRate / 100, 2)`."""
    c = _AMOUNTS
    return c.divide(c.multiply(total, vat_rate), _HUNDRED).quantize(_CENT, rounding=ROUND_HALF_UP, context=c)


def add(a: Decimal, b: Decimal) -> Decimal:
    """An exact sum."""
    return _AMOUNTS.add(a, b)


def money(value: Decimal, field: str, what: str) -> str:
    """An amount of cents written with exactly two decimals, within the XSD's `Money` (14 digits)."""
    written = f"{value:.2f}"
    whole, _, cents = written.partition(".")
    if len(whole.lstrip("0")) + len(cents.rstrip("0")) > _MONEY_DIGITS:
        raise Refusal(field, f"{what} would be {written}, more than the {_MONEY_DIGITS} digits Sonet takes")
    return written
