"""The Message API's judgement of one `POST /messages/sales-orders`, without HTTP and without state.

`check_sales_order` answers either a `CheckedOrder` (store it, answer 201 or 200) or a final
`Rejection`. It checks, in this order, and stops at the first problem:

1. size: over `MAX_MESSAGE_BYTES` is 413 TOO_LARGE (the HTTP layer should refuse it before reading);
2. Content-Type: `application/xml`, no parameter but `charset=utf-8`; else 400 SCHEMA;
3. the body: UTF-8, no DOCTYPE or entity declaration, well-formed, no XML declaration naming another
   encoding, valid against `sales-order.xsd`; else 400 SCHEMA (with Field where the schema says where);
4. when `accepted_content` is given and the MessageId was accepted before: the same canonical content
   is returned as a `CheckedOrder` at once (a DUPLICATE must not fail because an item has been deleted
   since), other content is 409 CONFLICT;
5. items, lines in document order: unknown or DELETED is 400 UNKNOWN_ITEM (PASSIVE items and items
   not web-visible may be ordered);
6. the customer (not for guests): unknown or DELETED is 400 UNKNOWN_CUSTOMER; orderBlocked is 400
   CUSTOMER_BLOCKED;
7. amounts: each LineTotal in document order, then Net, Vat, Gross; a value that differs is 400
   TOTALS_MISMATCH.

The stand-in is an independent Sonet: it computes the contract's amounts with its own code here.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Literal, cast

from lxml import etree

from sonet_pipeline.common.safe_xml import UnsafeXmlError, parse_xml
from sonet_pipeline.contract import MESSAGES_NS, sales_order_schema
from sonet_pipeline.standin.message_xml import error_xml

MAX_MESSAGE_BYTES = 1024 * 1024
#: Amounts are computed in this context: 64 digits hold every exact product and sum the schema allows.
_DECIMALS = Context(prec=64)


@dataclass(frozen=True)
class Rejection:
    """A final 4xx answer: 400 (SCHEMA and the content codes), 409 CONFLICT or 413 TOO_LARGE."""

    status: int
    code: str
    message: str
    field: str | None = None
    message_id: str | None = None


@dataclass(frozen=True)
class CheckedOrder:
    """A message that passed every check; `canonical` is its content for idempotency."""

    message_id: str
    web_order_number: str
    customer_number: str | None
    canonical: bytes


@dataclass(frozen=True)
class CustomerView:
    """What the Message API needs to know of a customer."""

    status: str  # ACTIVE, PASSIVE or DELETED
    order_blocked: bool


def check_sales_order(
    body: bytes,
    content_type: str | None,
    *,
    item_status: Callable[[str], str | None],
    customer: Callable[[str], CustomerView | None],
    accepted_content: Callable[[str], bytes | None] | None = None,
) -> CheckedOrder | Rejection:
    """Judge one message (see the module's docstring for the order of the checks).

    `item_status(code)` is the item's status or None when unknown, `customer(number)` a view or None
    when unknown; `accepted_content(message_id)` the canonical content accepted under that MessageId
    before, or None. The caller keeps the MessageId locked from that look-up until it stores the order.
    """
    if len(body) > MAX_MESSAGE_BYTES:
        return Rejection(413, "TOO_LARGE", f"the message has {len(body)} bytes; at most {MAX_MESSAGE_BYTES}")
    problem = content_type_problem(content_type)
    if problem is not None:
        return _schema(problem)
    root = _valid_document(body)
    if isinstance(root, Rejection):
        return root
    message_id = _text(root, "MessageId")
    canonical = canonical_content(root)
    customer_number = _text(root, "Customer/CustomerNumber") or None  # None: a guest
    checked = CheckedOrder(message_id, _text(root, "WebOrderNumber"), customer_number, canonical)
    if accepted_content is not None and (previous := accepted_content(message_id)) is not None:
        if decide_repeat(previous, checked) == "duplicate":
            return checked
        conflict = f"MessageId {message_id} was accepted before with other content"
        return Rejection(409, "CONFLICT", conflict, None, message_id)
    rejection = _check_items(root, item_status) or _check_customer(customer_number, customer) or _check_totals(root)
    if rejection is not None:
        return Rejection(400, rejection.code, rejection.message, rejection.field, message_id)
    return checked


def decide_repeat(previous_canonical: bytes | None, checked: CheckedOrder) -> Literal["new", "duplicate", "conflict"]:
    """What a checked message is, given the canonical content accepted before under its MessageId."""
    if previous_canonical is None:
        return "new"
    return "duplicate" if previous_canonical == checked.canonical else "conflict"


def rejection_xml(rejection: Rejection) -> bytes:
    """The `MessageError` document answering `rejection`."""
    return error_xml(rejection.code, rejection.message, message_id=rejection.message_id, field=rejection.field)


def canonical_content(root: etree._Element) -> bytes:
    """C14N (comments left out) of the document, whitespace-only text between elements removed.

    Values stay exactly as written: `59.9` and `59.90` differ, and so do `A` and ` A`.
    """
    root = copy.deepcopy(root)
    for element in root.iter(etree.Element):
        if not any(isinstance(child.tag, str) for child in element):
            continue  # a value (or empty): its text is content
        if element.text is not None and not element.text.strip():
            element.text = None
        for child in element:
            if child.tail is not None and not child.tail.strip():
                child.tail = None
    return etree.tostring(root, method="c14n", with_comments=False)


def round_half_up(value: Decimal, places: int = 2) -> Decimal:
    """`value` rounded to `places` decimals, halves away from zero (0.125 -> 0.13)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=_DECIMALS)


# --- Content-Type -------------------------------------------------------------------------------

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE = re.compile(rf"[ \t]*({_TOKEN})/({_TOKEN})[ \t]*")
_PARAMETER = re.compile(rf';[ \t]*(?:({_TOKEN})=({_TOKEN}|"(?:[^"\\]|\\.)*"))?[ \t]*')


def content_type_problem(value: str | None) -> str | None:
    """Why a Content-Type header is not `application/xml` in UTF-8, or None when it is."""
    wanted = "Content-Type must be application/xml; charset=utf-8"
    if value is None or not value.strip():
        return f"{wanted}; the request has none"
    media = _MEDIA_TYPE.match(value)
    if media is None:
        return f"{wanted}; {value!r} is not a media type"
    if f"{media[1]}/{media[2]}".lower() != "application/xml":
        return f"{wanted}, not {media[1]}/{media[2]}"
    charsets: list[str] = []
    position = media.end()
    while position < len(value):
        parameter = _PARAMETER.match(value, position)
        if parameter is None:
            return f"{wanted}; the parameters of {value!r} are malformed"
        position = parameter.end()
        if parameter[1] is None:
            continue  # an empty parameter (`application/xml;`) is allowed by RFC 9110
        if parameter[1].lower() != "charset":
            return f"{wanted}; the parameter {parameter[1]!r} is not allowed"
        charset = parameter[2]
        if charset.startswith('"'):
            charset = re.sub(r"\\(.)", r"\1", charset[1:-1])  # a quoted-string, unescaped
        charsets.append(charset.lower())
    if len(charsets) > 1 or any(charset != "utf-8" for charset in charsets):
        return f"{wanted}; charset {', '.join(charsets)} is not utf-8"
    return None


# --- The document -------------------------------------------------------------------------------

_ENCODING_DECLARATION = re.compile(rb"\A(?:\xef\xbb\xbf)?<\?xml[^>]*?\bencoding\s*=\s*[\"']([^\"']*)[\"']")
_MESSAGE_ID = re.compile(r"[A-Za-z0-9\-]{8,64}")
_NS_PREFIX = f"{{{MESSAGES_NS}}}"


def _valid_document(body: bytes) -> etree._Element | Rejection:
    try:
        root = parse_xml(body)
    except (UnsafeXmlError, etree.LxmlError) as exc:
        return _schema(f"the body is not an acceptable XML document: {exc}")
    declared = _ENCODING_DECLARATION.match(body)
    if declared is not None and declared[1].lower() != b"utf-8":
        encoding = declared[1].decode("ascii", "replace")
        return _schema(f"the XML declaration names encoding {encoding!r}; messages are UTF-8")
    schema = sales_order_schema()
    if schema.validate(root):
        return root
    error = schema.error_log[0]  # type: ignore[index]  # lxml-stubs: _ErrorLog lacks __getitem__
    message = error.message.replace(_NS_PREFIX, "")
    field = _schema_field(root, error.path)
    return _schema(f"not valid against sales-order.xsd: {message}"[:1000], field, _readable_message_id(root))


def _schema_field(root: etree._Element, libxml_path: str | None) -> str | None:
    """The Field of a schema error: libxml2's node path (`/*/*[12]/*[2]/*[2]`) as `Lines/Line[2]/Quantity`."""
    element = _element_at(root, libxml_path or "")
    if element is None or element is root:
        return None
    steps: list[str | None] = []
    while element is not root and element is not None:
        name = _localname(element)
        same = [e for e in element.itersiblings(preceding=True) if _localname(e) == name]
        later = any(_localname(e) == name for e in element.itersiblings())
        steps.append(f"{name}[{len(same) + 1}]" if name == "Line" or same or later else name)
        element = element.getparent()
    return "/".join(reversed(cast("list[str]", steps)))  # libxml2's `*` steps are elements: each has a local name


def _element_at(root: etree._Element, libxml_path: str) -> etree._Element | None:
    """The element at libxml2's node path; its prefixes are looked up in the document (first binding)."""
    namespaces: dict[str, str] = {}
    for element in root.iter(etree.Element):
        for prefix, uri in element.nsmap.items():
            if prefix:
                namespaces.setdefault(prefix, uri)
    try:
        found = root.getroottree().xpath(libxml_path, namespaces=namespaces) if libxml_path else []
    except etree.XPathError:
        return None
    return found[0] if isinstance(found, list) and found and isinstance(found[0], etree._Element) else None


def _readable_message_id(root: etree._Element) -> str | None:
    """The MessageId of an invalid SalesOrder, when it can be read where it belongs."""
    if root.tag != f"{_NS_PREFIX}SalesOrder" or len(root) == 0:
        return None
    first = root[0]
    text = (first.text or "").strip()
    return text if first.tag == f"{_NS_PREFIX}MessageId" and _MESSAGE_ID.fullmatch(text) else None


# --- Content checks (on a valid document) -------------------------------------------------------


def _check_items(root: etree._Element, item_status: Callable[[str], str | None]) -> Rejection | None:
    for n, line in enumerate(_lines(root), start=1):
        code = _text(line, "ItemCode")
        status = item_status(code)
        if status is None or status == "DELETED":
            why = "does not exist" if status is None else "is deleted"
            return Rejection(400, "UNKNOWN_ITEM", f"Item {code} {why}", f"Lines/Line[{n}]/ItemCode")
    return None


def _check_customer(number: str | None, customer: Callable[[str], CustomerView | None]) -> Rejection | None:
    if number is None:
        return None  # a guest
    field = "Customer/CustomerNumber"
    view = customer(number)
    if view is None or view.status == "DELETED":
        why = "does not exist" if view is None else "is deleted"
        return Rejection(400, "UNKNOWN_CUSTOMER", f"Customer {number} {why}", field)
    if view.order_blocked:
        return Rejection(400, "CUSTOMER_BLOCKED", f"Customer {number} is blocked from ordering", field)
    return None


def _check_totals(root: etree._Element) -> Rejection | None:
    with localcontext(_DECIMALS):
        net = vat = Decimal(0)
        for n, line in enumerate(_lines(root), start=1):
            has_discount = _find(line, "DiscountPercent") is not None
            discount = _decimal(line, "DiscountPercent") if has_discount else Decimal(0)
            exact = _decimal(line, "Quantity") * _decimal(line, "UnitPrice") * (1 - discount / 100)
            line_total = round_half_up(exact)
            mismatch = _mismatch(line, "LineTotal", line_total, f"Lines/Line[{n}]/LineTotal")
            if mismatch is not None:
                return mismatch
            net += line_total
            vat += round_half_up(line_total * _decimal(line, "VatRate") / 100)
        totals = _find(root, "Totals")
        assert totals is not None  # the schema requires it
        return (
            _mismatch(totals, "Net", net, "Totals/Net")
            or _mismatch(totals, "Vat", vat, "Totals/Vat")
            or _mismatch(totals, "Gross", net + vat, "Totals/Gross")
        )


def _mismatch(parent: etree._Element, name: str, expected: Decimal, field: str) -> Rejection | None:
    if _decimal(parent, name) == expected:
        return None
    written = _text(parent, name).strip()
    return Rejection(400, "TOTALS_MISMATCH", f"{field} is {written}; the contract's rule gives {expected}", field)


# --- Small helpers --------------------------------------------------------------------------------


def _schema(message: str, field: str | None = None, message_id: str | None = None) -> Rejection:
    return Rejection(400, "SCHEMA", message, field, message_id)


def _find(parent: etree._Element, path: str) -> etree._Element | None:
    return parent.find("/".join(f"{_NS_PREFIX}{step}" for step in path.split("/")))


def _text(parent: etree._Element, path: str) -> str:
    element = _find(parent, path)
    return "" if element is None or element.text is None else element.text


def _decimal(parent: etree._Element, name: str) -> Decimal:
    return Decimal(_text(parent, name).strip())  # the schema has already checked the lexical form


def _lines(root: etree._Element) -> list[etree._Element]:
    return root.findall(f"{_NS_PREFIX}Lines/{_NS_PREFIX}Line")


def _localname(element: etree._Element) -> str | None:
    return etree.QName(element).localname if isinstance(element.tag, str) else None
