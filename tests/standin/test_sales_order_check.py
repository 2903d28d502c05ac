"""The stand-in's Message API core: what it accepts, what it refuses (with which Field), and how."""

from __future__ import annotations

import ast
import inspect
import math
import os
import random
import re
import threading
from fractions import Fraction

import pytest
from lxml import etree

from sonet_pipeline.contract import message_response_schema, read_bytes
from sonet_pipeline.standin import message_xml, sales_order_check
from sonet_pipeline.standin.sales_order_check import (
    MAX_MESSAGE_BYTES,
    CheckedOrder,
    CustomerView,
    Rejection,
    check_sales_order,
    decide_repeat,
    rejection_xml,
)

B2B = read_bytes("examples/sales-order-b2b.xml")
GUEST = read_bytes("examples/sales-order-guest.xml")
XML = "application/xml; charset=utf-8"
ITEMS = {"BOOT-PRO-43": "ACTIVE", "GLOVE-WORK": "ACTIVE"}
CUSTOMERS = {"C10042": CustomerView("ACTIVE", order_blocked=False)}


def _check(body: bytes, content_type: str | None = XML, items=ITEMS, customers=CUSTOMERS, **kwargs):
    return check_sales_order(body, content_type, item_status=items.get, customer=customers.get, **kwargs)


def _edit(body: bytes, old: str, new: str) -> bytes:
    text = body.decode()
    assert old in text, old
    return text.replace(old, new, 1).encode()


def _rejected(result, code: str, field: str | None, status: int = 400) -> Rejection:
    assert isinstance(result, Rejection), result
    assert (result.status, result.code, result.field) == (status, code, field), result
    message_response_schema().assertValid(etree.fromstring(rejection_xml(result)))
    return result


def _order(lines: list[tuple[str, str, str | None, str, str]], net: str, vat: str, gross: str) -> bytes:
    """The guest example with these lines (quantity, unit price, discount, VAT rate, LineTotal)."""
    xml = "".join(
        f'<Line number="{n}"><ItemCode>BOOT-PRO-43</ItemCode><Quantity>{q}</Quantity>'
        f"<UnitPrice>{p}</UnitPrice>{f'<DiscountPercent>{d}</DiscountPercent>' if d else ''}"
        f"<VatRate>{v}</VatRate><LineTotal>{t}</LineTotal></Line>"
        for n, (q, p, d, v, t) in enumerate(lines, start=1)
    )
    text = re.sub(r"<Lines>.*</Lines>", f"<Lines>{xml}</Lines>", GUEST.decode(), flags=re.S)
    totals = f"<Totals><Net>{net}</Net><Vat>{vat}</Vat><Gross>{gross}</Gross></Totals>"
    return re.sub(r"<Totals>.*</Totals>", totals, text, flags=re.S).encode()


# --- What passes ----------------------------------------------------------------------------------


def test_the_contracts_example_orders_pass():
    """Both example SalesOrders of the contract pass every check, and what they are is reported."""
    b2b, guest = _check(B2B), _check(GUEST)
    assert isinstance(b2b, CheckedOrder) and isinstance(guest, CheckedOrder)
    assert (b2b.message_id, b2b.web_order_number, b2b.customer_number) == (
        "0b6f2f7e-5d1c-4c55-9a57-3f1b1c9a0e21",
        "WEB-100234",
        "C10042",
    )
    assert (guest.web_order_number, guest.customer_number) == ("WEB-100235", None)


def test_passive_items_and_passive_customers_may_order():
    """PASSIVE (and not web-visible) items may be ordered; only DELETED or unknown ones are refused."""
    items = {"BOOT-PRO-43": "PASSIVE", "GLOVE-WORK": "ACTIVE"}
    customers = {"C10042": CustomerView("PASSIVE", order_blocked=False)}
    assert isinstance(_check(B2B, items=items, customers=customers), CheckedOrder)


def test_a_guest_order_never_looks_up_a_customer():
    """A guest order has no customer to check, whatever the customer look-up would say."""
    assert isinstance(_check(GUEST, customers={}), CheckedOrder)


# --- Content rejections, each with its Field -------------------------------------------------------


@pytest.mark.parametrize("status", [None, "DELETED"])
def test_an_unknown_or_deleted_item_is_unknown_item_at_its_line(status):
    """An unknown or DELETED ItemCode is UNKNOWN_ITEM, Field by the line's position in the document."""
    items = {"BOOT-PRO-43": "ACTIVE"} | ({"GLOVE-WORK": status} if status else {})
    result = _rejected(_check(B2B, items=items), "UNKNOWN_ITEM", "Lines/Line[2]/ItemCode")
    assert "GLOVE-WORK" in result.message
    assert result.message_id == "0b6f2f7e-5d1c-4c55-9a57-3f1b1c9a0e21"


def test_the_field_counts_positions_not_line_numbers():
    """Field counts lines by position in the document, whatever their `number` attributes say."""
    body = _edit(_edit(B2B, 'number="1"', 'number="7"'), 'number="2"', 'number="3"')
    _rejected(_check(body, items={"BOOT-PRO-43": "ACTIVE"}), "UNKNOWN_ITEM", "Lines/Line[2]/ItemCode")


@pytest.mark.parametrize(
    ("customers", "code"),
    [
        ({}, "UNKNOWN_CUSTOMER"),
        ({"C10042": CustomerView("DELETED", order_blocked=False)}, "UNKNOWN_CUSTOMER"),
        ({"C10042": CustomerView("DELETED", order_blocked=True)}, "UNKNOWN_CUSTOMER"),
        ({"C10042": CustomerView("ACTIVE", order_blocked=True)}, "CUSTOMER_BLOCKED"),
    ],
)
def test_customer_rejections(customers, code):
    """An unknown or DELETED customer is UNKNOWN_CUSTOMER, an orderBlocked one CUSTOMER_BLOCKED."""
    _rejected(_check(B2B, customers=customers), code, "Customer/CustomerNumber")


def test_checks_run_in_the_documented_order():
    """Items are checked before the customer, and both before the amounts."""
    blocked = {"C10042": CustomerView("ACTIVE", order_blocked=True)}
    wrong_totals = _edit(B2B, "<Net>157.62</Net>", "<Net>157.63</Net>")
    _rejected(_check(wrong_totals, items={}, customers=blocked), "UNKNOWN_ITEM", "Lines/Line[1]/ItemCode")
    _rejected(_check(wrong_totals, customers=blocked), "CUSTOMER_BLOCKED", "Customer/CustomerNumber")
    _rejected(_check(wrong_totals), "TOTALS_MISMATCH", "Totals/Net")


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("<LineTotal>49.80</LineTotal>", "<LineTotal>49.81</LineTotal>", "Lines/Line[2]/LineTotal"),
        ("<LineTotal>107.82</LineTotal>", "<LineTotal>107.83</LineTotal>", "Lines/Line[1]/LineTotal"),
        ("<Net>157.62</Net>", "<Net>157.61</Net>", "Totals/Net"),
        ("<Vat>40.19</Vat>", "<Vat>40.20</Vat>", "Totals/Vat"),
        ("<Gross>197.81</Gross>", "<Gross>197.80</Gross>", "Totals/Gross"),
    ],
)
def test_amounts_that_do_not_add_up_are_totals_mismatch_at_the_first_wrong_element(old, new, field):
    """Any difference is TOTALS_MISMATCH, with the first wrong element (lines, then Net, Vat, Gross)."""
    result = _rejected(_check(_edit(B2B, old, new)), "TOTALS_MISMATCH", field)
    assert re.search(r"\d+\.\d\d", result.message)


def test_amounts_are_compared_as_values():
    """`49.8` and `49.80` are the same amount: only the value must add up."""
    assert isinstance(_check(_edit(B2B, "<LineTotal>49.80</LineTotal>", "<LineTotal>49.8</LineTotal>")), CheckedOrder)


@pytest.mark.parametrize(
    ("line", "net", "vat"),
    [
        (("1", "0.125", None, "0", "0.13"), "0.13", "0.00"),  # LineTotal rounds half up
        (("1", "1.005", None, "0", "1.01"), "1.01", "0.00"),  # a float would give 1.00
        (("1", "0.25", "50", "0", "0.13"), "0.13", "0.00"),  # 0.125 after the discount
        (("3", "10.00", "33.33", "0", "20.00"), "20.00", "0.00"),  # 20.001
        (("1", "100", "33.33", "24", "66.67"), "66.67", "16.00"),  # 66.67, VAT 16.0008
        (("2", "0.25", None, "25", "0.50"), "0.50", "0.13"),  # VAT 0.125 rounds half up
        (("0.001", "0.0001", None, "25", "0.00"), "0.00", "0.00"),
        (("1", "59.90", "100", "25.5", "0.00"), "0.00", "0.00"),
    ],
)
def test_rounding_is_half_up_to_cents(line, net, vat):
    """LineTotal and each line's VAT round half up to cents; one cent either way is refused."""
    assert isinstance(_check(_order([line], net, vat, _fixed(Fraction(net) + Fraction(vat)))), CheckedOrder)
    q, p, d, v, total = line
    off = _fixed(Fraction(total) + Fraction(1, 100))
    _rejected(_check(_order([(q, p, d, v, off)], off, vat, "0")), "TOTALS_MISMATCH", "Lines/Line[1]/LineTotal")


def test_vat_is_rounded_per_line_not_on_the_sum():
    """Vat is the sum of each line's rounded VAT (0.03 + 0.03), not the rounded VAT of Net (0.05)."""
    lines = [("1", "0.10", None, "25", "0.10"), ("1", "0.10", None, "25", "0.10")]
    assert isinstance(_check(_order(lines, "0.20", "0.06", "0.26")), CheckedOrder)
    _rejected(_check(_order(lines, "0.20", "0.05", "0.25")), "TOTALS_MISMATCH", "Totals/Vat")


def _cents_half_up(value: Fraction) -> Fraction:
    return Fraction(math.floor(value * 100 + Fraction(1, 2)), 100)


def _fixed(value: Fraction, places: int = 2) -> str:
    """An exact non-negative decimal as text with `places` decimals (`Fraction` cannot format in 3.11)."""
    scaled = value * 10**places
    assert scaled.denominator == 1 and scaled >= 0, value
    digits = str(scaled.numerator).rjust(places + 1, "0")
    return f"{digits[:-places]}.{digits[-places:]}"


def test_amounts_agree_with_an_exact_rational_oracle():
    """On random large and awkward amounts, the check agrees with the contract's rule in exact rationals."""
    rng = random.Random(20261128)
    for _ in range(40):
        lines, net, vat = [], Fraction(0), Fraction(0)
        for _ in range(rng.randint(1, 4)):
            q = Fraction(rng.randint(1, 999_999_999), 1000)
            p = Fraction(rng.randint(0, 9_999_999), 10_000)
            d = Fraction(rng.choice([0, 1, 3333, 5000, 9999, rng.randint(0, 10_000)]), 100)
            v = Fraction(rng.choice([0, 1000, 1400, 2400, 2550, 2500]), 100)
            total = _cents_half_up(q * p * (1 - d / 100))
            net, vat = net + total, vat + _cents_half_up(total * v / 100)
            lines.append((_fixed(q, 3), _fixed(p, 4), _fixed(d) if d else None, _fixed(v), _fixed(total)))
        body = _order(lines, _fixed(net), _fixed(vat), _fixed(net + vat))
        assert isinstance(_check(body), CheckedOrder), (lines, _check(body))


# --- Idempotency -----------------------------------------------------------------------------------


def test_values_are_compared_exactly_as_written():
    """`59.9` and `59.90` are different content for idempotency, though both add up."""
    first, second = _check(GUEST), _check(_edit(GUEST, "<UnitPrice>59.90</UnitPrice>", "<UnitPrice>59.9</UnitPrice>"))
    assert isinstance(first, CheckedOrder) and isinstance(second, CheckedOrder)
    assert first.canonical != second.canonical
    assert decide_repeat(first.canonical, second) == "conflict"


def test_whitespace_inside_a_value_is_content():
    """A value's own spaces are content: `<City> Tampere</City>` differs from `<City>Tampere</City>`."""
    spaced = _check(_edit(GUEST, "<City>Tampere</City>", "<City> Tampere</City>"))
    assert isinstance(spaced, CheckedOrder)
    assert spaced.canonical != _check(GUEST).canonical


def test_reformatting_does_not_change_the_content():
    """Whitespace between elements, the XML declaration, comments, attribute quotes: not content."""
    original = _check(GUEST)
    compact = re.sub(rb">\s+<", b"><", GUEST).replace(b'<?xml version="1.0" encoding="UTF-8"?>', b"")
    loose = GUEST.replace(b"><", b">\n\t  <").replace(b'version="1"', b"version='1'")
    commented = GUEST.replace(b"<Lines>", b"<Lines>\n  <!-- the lines -->\n")
    for variant in (compact, loose, commented):
        checked = _check(variant)
        assert isinstance(checked, CheckedOrder), checked
        assert checked.canonical == original.canonical
        assert decide_repeat(original.canonical, checked) == "duplicate"
    assert decide_repeat(None, original) == "new"


def test_a_repeat_of_accepted_content_is_no_longer_checked_against_the_data():
    """Once accepted, the same content stays a DUPLICATE even after its item was deleted."""
    accepted = _check(B2B)
    assert isinstance(accepted, CheckedOrder)
    items_now = {"BOOT-PRO-43": "DELETED", "GLOVE-WORK": "ACTIVE"}
    previous = {accepted.message_id: accepted.canonical}
    again = _check(B2B, items=items_now, accepted_content=previous.get)
    assert again == accepted and decide_repeat(accepted.canonical, again) == "duplicate"
    _rejected(_check(B2B, items=items_now, accepted_content={}.get), "UNKNOWN_ITEM", "Lines/Line[1]/ItemCode")


def test_other_content_under_an_accepted_message_id_is_conflict():
    """Other content under an accepted MessageId is 409 CONFLICT, whatever else is wrong with it."""
    accepted = _check(B2B)
    previous = {accepted.message_id: accepted.canonical}
    changed = _edit(B2B, "<Comment>Toimitus", "<Comment>Muutettu: toimitus")
    result = _rejected(_check(changed, items={}, accepted_content=previous.get), "CONFLICT", None, status=409)
    assert result.message_id == accepted.message_id


# --- SCHEMA ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "application/xml",
        XML,
        "APPLICATION/XML; Charset=UTF-8",
        'application/xml;charset="utf-8"',
        "application/xml ; charset=utf-8 ",
        "application/xml;",
    ],
)
def test_content_types_that_are_accepted(content_type):
    """`application/xml` with charset utf-8 or none, in any case and with parameters parsed properly."""
    assert isinstance(_check(GUEST, content_type), CheckedOrder)


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "",
        "text/xml",
        "text/xml; charset=utf-8",
        "application/json",
        "application/soap+xml",
        "application/xml-dtd",
        "application/xmlcharset=utf-8",
        "application/xml; charset=iso-8859-1",
        "application/xml; charset=utf-16",
        "application/xml; charset=utf8",
        "application/xml; charset=utf-8; charset=latin1",
        'application/xml; charset="utf-8',
        "application/xml; charset",
        "application/xml; boundary=x",
        "xml",
    ],
)
def test_other_content_types_are_schema(content_type):
    """Any other Content-Type is 400 SCHEMA, before the body is looked at."""
    result = _rejected(_check(GUEST, content_type), "SCHEMA", None)
    assert "application/xml" in result.message


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<SalesOrder",
        GUEST.replace(b"</SalesOrder>", b""),
        GUEST.replace(b"Anna Virtanen</Name>", "Anna Virtasä</Name>".encode("latin-1"), 1),  # not UTF-8
        GUEST.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"'),
        GUEST.replace(b"</SalesOrder>", b"</SalesOrder><SalesOrder/>"),
    ],
)
def test_a_body_that_is_not_a_well_formed_utf8_document_is_schema(body):
    """Not well-formed, not UTF-8 or declared in another encoding: 400 SCHEMA without a Field."""
    _rejected(_check(body), "SCHEMA", None)


def test_a_byte_order_mark_is_allowed():
    """UTF-8 with a byte order mark is still UTF-8."""
    assert isinstance(_check(b"\xef\xbb\xbf" + GUEST), CheckedOrder)


@pytest.mark.parametrize("namespace", ['xmlns="urn:other:messages:1"', ""])
def test_a_document_from_another_namespace_is_schema(namespace):
    """A SalesOrder in another namespace (or none) is not a Sonet SalesOrder: 400 SCHEMA."""
    result = _rejected(_check(_edit(GUEST, 'xmlns="urn:sonet:messages:1"', namespace)), "SCHEMA", None)
    assert "SalesOrder" in result.message


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("<Quantity>12</Quantity>", "<Quantity>0</Quantity>", "Lines/Line[2]/Quantity"),
        ("<ItemCode>GLOVE-WORK</ItemCode>", "<ItemCode>GLOVE WORK</ItemCode>", "Lines/Line[2]/ItemCode"),
        ('<Line number="2">', "<Line>", "Lines/Line[2]"),
        ("<Currency>EUR</Currency>", "<Currency>EUR</Currency><Currency>EUR</Currency>", "Currency[2]"),
        ("<Vat>40.19</Vat>", "", "Totals/Gross"),
        ("<Comment>", '<x:Extra xmlns:x="urn:x"/><Comment>', "Extra"),
        ("<Net>157.62</Net>", "<Net>157.625</Net>", "Totals/Net"),
        ("<CountryCode>FI</CountryCode>", "<CountryCode>fi</CountryCode>", "BillingAddress/CountryCode"),
        (' version="1"', "", None),
    ],
)
def test_an_invalid_document_is_schema_with_the_field_where_the_schema_says(old, new, field):
    """Invalid against sales-order.xsd: 400 SCHEMA, Field by position without prefixes, readable message."""
    result = _rejected(_check(_edit(B2B, old, new)), "SCHEMA", field)
    assert result.message.startswith("not valid against sales-order.xsd: ")
    assert "{urn:sonet:messages:1}" not in result.message
    assert result.message_id == "0b6f2f7e-5d1c-4c55-9a57-3f1b1c9a0e21"


def test_a_single_line_keeps_its_position_in_the_field():
    """Line always carries its position, also when it is the only one."""
    body = _edit(GUEST, "<Quantity>1</Quantity>", "<Quantity>-1</Quantity>")
    _rejected(_check(body), "SCHEMA", "Lines/Line[1]/Quantity")


def test_an_unreadable_message_id_is_left_out():
    """A MessageId the schema refuses is not echoed back."""
    body = _edit(GUEST, "7c1d9a44-0f0e-4a8e-b3a5-6d2c8e1f9b10", "short")
    assert _rejected(_check(body), "SCHEMA", "MessageId").message_id is None


ENTITY_DOCUMENTS = {
    "general": '<!DOCTYPE SalesOrder [<!ENTITY secret SYSTEM "{uri}">]>',
    "parameter": '<!DOCTYPE SalesOrder [<!ENTITY % secret SYSTEM "{uri}"> %secret;]>',
    "external subset": '<!DOCTYPE SalesOrder SYSTEM "{uri}">',
}


def _with_doctype(doctype: str, uri: str) -> bytes:
    body = _edit(GUEST, "<SalesOrder ", doctype.format(uri=uri) + "\n<SalesOrder ")
    return _edit(body, "<Name>Anna Virtanen</Name>", "<Name>&secret;</Name>") if "ENTITY" in doctype else body


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX named pipes")
@pytest.mark.parametrize("kind", ENTITY_DOCUMENTS)
def test_a_doctype_with_an_external_entity_is_refused_without_opening_the_file(tmp_path, kind):
    """A DOCTYPE pointing at a file is 400 SCHEMA and the file is never opened.

    The file is a named pipe: opening it for reading blocks until a writer comes, so a parser that
    so much as opens it hangs, which the test notices.
    """
    fifo = tmp_path / "secret"
    os.mkfifo(fifo)
    results: list = []
    worker = threading.Thread(
        target=lambda: results.append(_check(_with_doctype(ENTITY_DOCUMENTS[kind], fifo.as_uri())))
    )
    worker.start()
    worker.join(5)
    if worker.is_alive():
        os.close(os.open(fifo, os.O_WRONLY))  # let the reader go
        worker.join(5)
        pytest.fail("the parser opened the entity's file")
    _rejected(results[0], "SCHEMA", None)


def test_a_doctype_never_brings_a_files_content_into_the_answer(tmp_path):
    """With a readable file behind the entity, the answer is 400 SCHEMA and shows nothing of the file."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    for doctype in ENTITY_DOCUMENTS.values():
        result = _rejected(_check(_with_doctype(doctype, secret.as_uri())), "SCHEMA", None)
        assert "TOP-SECRET" not in result.message and b"TOP-SECRET" not in rejection_xml(result)


def test_an_internal_entity_declaration_is_refused():
    """Entities are never expanded, not even internal ones (no entity expansion bombs)."""
    bomb = '<!DOCTYPE SalesOrder [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    body = _edit(_edit(GUEST, "<SalesOrder ", bomb + "<SalesOrder "), "Anna Virtanen</Name>", "&b;</Name>")
    _rejected(_check(body), "SCHEMA", None)


def test_a_message_over_one_mebibyte_is_too_large():
    """Over 1 MiB is 413 TOO_LARGE, also if the HTTP layer let it through; exactly 1 MiB is read."""
    _rejected(_check(GUEST + b" " * (MAX_MESSAGE_BYTES + 1 - len(GUEST))), "TOO_LARGE", None, status=413)
    assert isinstance(_check(GUEST + b" " * (MAX_MESSAGE_BYTES - len(GUEST))), CheckedOrder)


def test_the_standin_imports_nothing_of_the_pipeline():
    """The stand-in's checks use only the contract loader and `sonet_pipeline.common` (it is independent)."""
    allowed = ("sonet_pipeline.contract", "sonet_pipeline.common", "sonet_pipeline.standin")
    for module in (sales_order_check, message_xml):
        tree = ast.parse(inspect.getsource(module))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sonet_pipeline"):
                assert node.module.startswith(allowed), node.module
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("sonet_pipeline") for a in node.names)
