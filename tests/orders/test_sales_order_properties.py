"""Properties of `build_sales_order` over generated web-shop orders valid per the JSON schema and the intake.

The strategy follows `commerce-order.schema.json` by hand, with hostile values: markup characters, `]]>`,
emoji and combining marks, characters XML forbids (controls, lone surrogates, U+FFFE), texts at the schema's
maximum lengths, numbers at the edges of their patterns and of the XSD's facets. The checks are independent
of the code under test: amounts are recomputed with `fractions.Fraction`, texts re-cleaned by the XML 1.0
`Char` production.
"""

from __future__ import annotations

import json
import math
import re
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from lxml import etree

from sonet_pipeline import contract
from sonet_pipeline.orders import BuiltMessage, Unmappable, build_sales_order, validate_order
from sonet_pipeline.orders.sales_order_xml import XSD_REJECTED

NS = {"s": contract.MESSAGES_NS}
HOSTILE = ["&", "<", ">", "]]>", '"', "'", "\x00", "\x01", "\x08", "\x0b", "\x1f", "\t", "\n", "\r", "\ud800"]
HOSTILE += ["\udfff", "\ufffe", "\uffff", "\x7f", "\x85", "😀", "👩‍👩‍👧", "e\u0301", "\u0301", " ", "\u2028", "Ä"]

# --- strategies ---------------------------------------------------------------------------------

piece = st.one_of(st.sampled_from(HOSTILE), st.characters(exclude_categories=()), st.sampled_from("abcXYZ019 "))


@st.composite
def text(draw: st.DrawFn, min_size: int = 0, max_size: int = 80) -> str:
    """A string of `min_size` to `max_size` code points: a mix of pieces, or one piece repeated up to the max."""
    if draw(st.booleans()):
        value = "".join(draw(st.lists(piece, max_size=12)))
    else:
        value = draw(piece) * draw(st.integers(0, max_size))
    value = value[:max_size]
    return value + "x" * (min_size - len(value))


# Each value has a tame strategy (always mappable, though texts stay hostile) and a wild one (anything the
# schema and the intake accept); an order is drawn tame or wild as a whole, so both outcomes are common.
Strategies = dict[bool, st.SearchStrategy[Any]]


def carried(value: str, max_size: int) -> str:
    """`value` with at least one character XML can carry (the order stays mappable)."""
    return value if xml_text(value, max_size) else ("x" + value)[:max_size]


def digits(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=min_size, max_size=max_size)


def decimal_text(whole: st.SearchStrategy[str], fraction: int) -> st.SearchStrategy[str]:
    """`whole` digits, then maybe a point and 1 to `fraction` digits: the JSON schema's number patterns."""
    return st.tuples(whole, st.one_of(st.just(""), digits(1, fraction).map(lambda f: "." + f))).map("".join)


def number(tame: st.SearchStrategy[str], wild: st.SearchStrategy[str], edges: list[str]) -> Strategies:
    return {False: tame, True: st.one_of(tame, wild, st.sampled_from(edges))}


small = st.integers(0, 9999).map(str)
QUANTITY_EDGES = ["0", "0.000", "0.001", "999999999999.999", "999999999999", "1000000000000", "0000000000001"]
quantities = number(decimal_text(st.integers(1, 9999).map(str), 3), decimal_text(digits(1, 16), 3), QUANTITY_EDGES)
unit_prices = number(
    st.one_of(decimal_text(small, 4), st.sampled_from(["0", "0.0001", "0.005", "00.0050"])),
    decimal_text(digits(1, 18), 4),
    ["99999999999999", "9999999999.9999", "100000000000000"],
)
percents = number(
    st.one_of(decimal_text(st.integers(0, 99).map(str), 2), st.sampled_from(["100", "100.00", "0", "25.5"])),
    decimal_text(digits(1, 3), 2),
    ["100.01", "999.99", "101"],
)
codes = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._\-/]{0,39}\Z")


def texts(min_size: int, max_size: int) -> Strategies:
    return {False: text(min_size, max_size).map(lambda v: carried(v, max_size)), True: text(min_size, max_size)}


loose_codes = {False: codes, True: st.one_of(codes, text(1, 40))}  # sku, methods: the schema limits the length
not_blank = {wild: strategy.filter(lambda value: value.strip()) for wild, strategy in texts(1, 200).items()}
postal_codes = {False: text(1, 12).map(lambda v: xml_text(v, 12) or "00510"), True: text(1, 12)}
emails = {False: st.emails().filter(lambda e: len(e) <= 80), True: st.one_of(st.emails(), not_blank[True])}


@st.composite
def created_at(draw: st.DrawFn, wild: bool) -> str:
    """RFC 3339 date-times; a wild one may be what xs:dateTime refuses (t, z, :60, an offset past 14:00)."""
    day = draw(st.dates())
    flaw = draw(st.sampled_from(["t", "z", ":60", "+15", *[""] * 12])) if wild else ""
    clock = f"{draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}:{draw(st.integers(0, 59)):02d}"
    clock = clock[:-3] + ":60" if flaw == ":60" else clock
    fraction = draw(st.one_of(st.just(""), digits(1, 9).map(lambda f: "." + f)))
    sign, hours, minutes = draw(st.sampled_from("+-")), draw(st.integers(0, 13)), draw(st.integers(0, 59))
    offset = draw(st.sampled_from(["Z", f"{sign}{hours:02d}:{minutes:02d}", "+14:00", "-14:00"]))
    offset = {"z": "z", "+15": f"+{draw(st.integers(15, 23))}:00"}.get(flaw, offset)
    return f"{day.year:04d}-{day.month:02d}-{day.day:02d}{'t' if flaw == 't' else 'T'}{clock}{fraction}{offset}"


def address(wild: bool) -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries(
        {
            "name": texts(1, 200)[wild],
            "street": texts(1, 200)[wild],
            "postalCode": postal_codes[wild],
            "city": texts(1, 200)[wild],
            "countryCode": st.from_regex(r"\A[A-Z]{2}\Z"),
        }
    )


def customers(wild: bool) -> st.SearchStrategy[dict[str, str]]:
    account = st.fixed_dictionaries(
        {"kind": st.just("account"), "customerNumber": st.one_of(codes, not_blank[True]) if wild else codes},
        optional={
            "contactId": st.one_of(codes, text(0, 40)) if wild else st.one_of(codes, st.just("")),
            "name": text(0, 200),
            "email": text(0, 200),
        },
    )
    guest = st.fixed_dictionaries(
        {"kind": st.just("guest"), "name": not_blank[wild], "email": emails[wild]},
        optional={"phone": text(0, 80)},
    )
    return st.one_of(account, guest)


def lines(wild: bool) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "sku": loose_codes[wild],
            "quantity": quantities[wild],
            "unitPrice": unit_prices[wild],
            "vatRate": percents[wild],
        },
        optional={
            "discountPercent": percents[wild],
            "variant": st.dictionaries(text(0, 20), text(0, 80), max_size=10),
        },
    )


@st.composite
def orders(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, list[tuple[str, str]]]]:
    """A schema-valid order, and the own variant attributes of its synced items."""
    wild = draw(st.booleans())
    some_lines = draw(st.lists(lines(wild), min_size=1, max_size=6))
    copies = draw(st.sampled_from([1] * 6 + [draw(st.integers(1, 999))]))  # now and then up to 999 lines
    order = draw(
        st.fixed_dictionaries(
            {
                "orderNumber": codes,
                "createdAt": created_at(wild),
                "currency": st.from_regex(r"\A[A-Z]{3}\Z"),
                "customer": customers(wild),
                "billingAddress": address(wild),
                "deliveryAddress": address(wild),
                "deliveryMethod": loose_codes[wild],
                "paymentMethod": loose_codes[wild],
                "lines": st.just((some_lines * copies)[:999]),
            },
            optional={"customerReference": text(0, 200), "comment": text(0, 4000)},
        )
    )
    own: dict[str, list[tuple[str, str]]] = {}
    for line in some_lines:
        pairs = list(line.get("variant", {}).items())
        choice = draw(st.sampled_from(["not synced", "exactly", "shuffled", "other"]))
        if choice == "exactly":
            own[line["sku"]] = pairs
        elif choice == "shuffled":
            own[line["sku"]] = draw(st.permutations(pairs))
        elif choice == "other":
            own[line["sku"]] = draw(st.lists(st.tuples(text(0, 10), text(0, 10)), max_size=3))
    return order, own


# --- independent checks -------------------------------------------------------------------------


def xml_text(value: str, limit: int) -> str:
    """The XML 1.0 `Char` production, then the first `limit` code points."""
    allowed = (c for c in value if c in "\t\n\r" or " " <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd" or c > "\uffff")
    return "".join(allowed)[:limit]


def cents(value: Fraction) -> int:
    """round_half_up to cents of a non-negative amount, in cents."""
    return math.floor(value * 100 + Fraction(1, 2))


def written(amount_in_cents: int) -> str:
    return f"{amount_in_cents // 100}.{amount_in_cents % 100:02d}"


_INDEX = re.compile(r"\[[0-9]+\]")
_PATH_TOKEN = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_]*)|\[([0-9]+)\]|\[("(?:[^"\\]|\\.)*")\]')


def resolve(order: Any, path: str) -> Any:
    """The value at a JSON path like `lines[2].variant["Size (EU)"]`; KeyError/IndexError when there is none."""
    position, value = 0, order
    while position < len(path):
        token = _PATH_TOKEN.match(path, position)
        assert token is not None, f"not a JSON path: {path!r}"
        if token[2] is not None:
            value = value[int(token[2])]
        else:
            value = value[token[1] if token[1] is not None else json.loads(token[3])]
        position = token.end()
    return value


def check_message(xml: bytes, order: dict[str, Any], own: dict[str, list[tuple[str, str]]]) -> None:
    root = etree.fromstring(xml)
    contract.sales_order_schema().assertValid(root)

    def value(element: etree._Element, name: str) -> str | None:
        found = element.find(f"s:{name}", NS)
        return None if found is None else found.text or ""

    assert (value(root, "WebOrderNumber"), value(root, "OrderDate")) == (order["orderNumber"], order["createdAt"])
    for key, element in (("billingAddress", "BillingAddress"), ("deliveryAddress", "DeliveryAddress")):
        for name in ("name", "street", "city"):
            assert value(root.find(f"s:{element}", NS), name.capitalize()) == xml_text(order[key][name], 80)
    customer = order["customer"]
    if customer["kind"] == "guest":
        guest = root.find("s:Customer/s:Guest", NS)
        assert (value(guest, "Name"), value(guest, "Email")) == (xml_text(customer["name"], 80), customer["email"])
    else:
        assert value(root.find("s:Customer", NS), "CustomerNumber") == customer["customerNumber"]
    assert value(root, "Comment") == (xml_text(order.get("comment", ""), 1000) or None)
    assert value(root, "CustomerReference") == (xml_text(order.get("customerReference", ""), 80) or None)
    net = vat = 0
    elements = root.findall("s:Lines/s:Line", NS)
    assert len(elements) == len(order["lines"])
    for number, (line, element) in enumerate(zip(order["lines"], elements, strict=True), start=1):
        assert element.get("number") == str(number)
        for key, name in (("sku", "ItemCode"), ("quantity", "Quantity"), ("unitPrice", "UnitPrice")):
            assert value(element, name) == line[key]
        assert (value(element, "DiscountPercent"), value(element, "VatRate")) == (
            line.get("discountPercent"),
            line["vatRate"],
        )
        discount = Fraction(line.get("discountPercent", "0"))
        line_total = cents(Fraction(line["quantity"]) * Fraction(line["unitPrice"]) * (1 - discount / 100))
        assert value(element, "LineTotal") == written(line_total)
        net += line_total
        vat += cents(Fraction(line_total, 100) * Fraction(line["vatRate"]) / 100)
        variant = line.get("variant", {})
        differs = bool(variant) and set(variant.items()) != set(own.get(line["sku"], []))
        info = ", ".join(f"{k} = {v}" for k, v in variant.items())
        assert value(element, "AdditionalInfo") == (xml_text(info, 240) if differs else None)
    assert [value(root.find("s:Totals", NS), name) for name in ("Net", "Vat", "Gross")] == [
        written(net),
        written(vat),
        written(net + vat),
    ]


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(orders())
def test_valid_orders_give_a_valid_message_with_correct_amounts_or_an_unmappable_field(generated):
    """For every schema-valid order: no exception; either XML the XSD accepts whose amounts, copied values and
    texts an independent computation reproduces, or Unmappable naming a JSON path into the order found by the
    mapper's own rules (the XSD gate is never the one to find it), TOO_LARGE alone having no field."""
    order, own = generated
    assert validate_order(order) == []
    result = build_sales_order(order, message_id="prop-test-0001", variant_attributes=own.get)
    if isinstance(result, BuiltMessage):
        event("built")
        check_message(result.xml, order, own)
        return
    assert isinstance(result, Unmappable)
    event(f"{result.code} {_INDEX.sub('[i]', result.field or '')}")
    assert not result.message.startswith(XSD_REJECTED), result.message
    if result.code == "TOO_LARGE":
        assert result.field is None
    else:
        assert result.code == "UNMAPPABLE" and result.field is not None
        resolve(order, result.field)
