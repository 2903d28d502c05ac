"""The stand-in's answers to a message: `MessageReceipt` and `MessageError` documents.

Every answer starts with an XML declaration, lives in the namespace `urn:sonet:messages:1` and is
valid against the packaged `message-response.xsd` whatever text it carries: characters that XML 1.0
forbids are dropped, and long texts are cut (a Message echoes parts of what the client sent).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from lxml import etree

from sonet_pipeline.contract import MESSAGES_NS

#: The codes `message-response.xsd` allows in a MessageError.
ERROR_CODES = frozenset(
    {
        "SCHEMA",
        "UNKNOWN_ITEM",
        "UNKNOWN_CUSTOMER",
        "CUSTOMER_BLOCKED",
        "TOTALS_MISMATCH",
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "CONFLICT",
        "TOO_LARGE",
        "THROTTLED",
        "UNAVAILABLE",
    }
)
RECEIPT_STATUSES = frozenset({"ACCEPTED", "DUPLICATE"})

#: At most this many characters of one text go into an answer.
MAX_ANSWER_TEXT = 2000

_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
# Everything outside XML 1.0's Char production (this includes lone surrogates).
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_COMPANY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,19}")


def xml_text(text: str, limit: int = MAX_ANSWER_TEXT) -> str:
    """`text` without the characters XML 1.0 forbids, cut to `limit` characters (ending in `…`)."""
    text = _NOT_XML_CHAR.sub("", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def receipt_xml(message_id: str, status: str, sonet_order_number: str, received_at: datetime) -> bytes:
    """A `MessageReceipt`: status ACCEPTED (HTTP 201) or DUPLICATE (HTTP 200)."""
    if status not in RECEIPT_STATUSES:
        raise ValueError(f"a receipt's Status is ACCEPTED or DUPLICATE, not {status!r}")
    root = _element("MessageReceipt")
    _child(root, "MessageId", message_id)
    _child(root, "Status", status)
    _child(root, "SonetOrderNumber", sonet_order_number)
    _child(root, "ReceivedAt", format_instant(received_at))
    return _document(root)


def error_xml(code: str, message: str, *, message_id: str | None = None, field: str | None = None) -> bytes:
    """A `MessageError` with `code` (one of `ERROR_CODES`), a human-readable message and, where known,
    the MessageId and the Field (by position, e.g. `Lines/Line[3]/ItemCode`)."""
    if code not in ERROR_CODES:
        raise ValueError(f"{code!r} is not a MessageError code of message-response.xsd")
    root = _element("MessageError")
    if message_id is not None:
        _child(root, "MessageId", message_id)
    _child(root, "Code", code)
    _child(root, "Message", message)
    if field is not None:
        _child(root, "Field", field)
    return _document(root)


def format_instant(instant: datetime) -> str:
    """`2026-11-28T04:38:03.412Z`: UTC, milliseconds (truncated), `Z`."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("an instant in an answer must be timezone-aware")
    utc = instant.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def sonet_order_number(company: str, sequence: int) -> str:
    """The Sonet order number of a company's `sequence`-th accepted order, e.g. `SO-01-0045512`."""
    if not _COMPANY.fullmatch(company):
        raise ValueError(f"company code {company!r} cannot go into an order number")
    if sequence < 1:
        raise ValueError(f"order sequence numbers start at 1, not {sequence}")
    return f"SO-{company}-{sequence:07d}"


def _element(name: str) -> etree._Element:
    # lxml-stubs reject the None key that lxml takes for the default namespace.
    return etree.Element(f"{{{MESSAGES_NS}}}{name}", nsmap={None: MESSAGES_NS})  # type: ignore[dict-item]


def _child(parent: etree._Element, name: str, text: str) -> None:
    etree.SubElement(parent, f"{{{MESSAGES_NS}}}{name}").text = xml_text(text)


def _document(root: etree._Element) -> bytes:
    return _DECLARATION + etree.tostring(root, encoding="UTF-8", xml_declaration=False, pretty_print=True)
