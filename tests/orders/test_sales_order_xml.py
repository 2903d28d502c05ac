"""A web-shop order becomes the SalesOrder the contract describes, or an Unmappable naming its field."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from sonet_pipeline import contract
from sonet_pipeline.orders import BuiltMessage, Unmappable, build_sales_order, sales_order_rules
from sonet_pipeline.orders.sales_order_xml import MAX_MESSAGE_BYTES, XSD_REJECTED
from tests.orders.samples import B2B_MESSAGE_ID, GUEST_MESSAGE_ID, OWN_ATTRIBUTES, b2b_order, canonical, guest_order

NS = {"s": contract.MESSAGES_NS}


def build(order: dict[str, Any], own: dict[str, list[tuple[str, str]]] | None = None) -> BuiltMessage | Unmappable:
    return build_sales_order(order, message_id=B2B_MESSAGE_ID, variant_attributes=(own or OWN_ATTRIBUTES).get)


def built(order: dict[str, Any], own: dict[str, list[tuple[str, str]]] | None = None) -> etree._Element:
    """The built message, parsed, after checking that the packaged XSD accepts it."""
    result = build(order, own)
    assert isinstance(result, BuiltMessage), result
    root = etree.fromstring(result.xml)
    contract.sales_order_schema().assertValid(root)
    return root


def texts(root: etree._Element, path: str) -> list[str]:
    return [element.text or "" for element in root.xpath(path, namespaces=NS)]


def one_line(**line: Any) -> dict[str, Any]:
    order = guest_order()
    order["lines"] = [{"sku": "ITEM-1", "vatRate": "0", **line}]
    return order


# --- the contract's examples --------------------------------------------------------------------


def test_contract_b2b_example_maps_to_the_example_message():
    """The contract's B2B order gives `examples/sales-order-b2b.xml`, value for value (C14N, blanks ignored)."""
    result = build(b2b_order())
    assert isinstance(result, BuiltMessage)
    assert canonical(result.xml) == canonical(contract.read_bytes("examples/sales-order-b2b.xml"))


def test_guest_order_maps_to_the_guest_example_message():
    """A guest order gives Customer/Guest (no CustomerNumber, no ContactId), as in the guest example."""
    result = build_sales_order(guest_order(), message_id=GUEST_MESSAGE_ID, variant_attributes=OWN_ATTRIBUTES.get)
    assert isinstance(result, BuiltMessage)
    assert canonical(result.xml) == canonical(contract.read_bytes("examples/sales-order-guest.xml"))


def test_message_is_utf8_with_declaration_namespace_and_version():
    """The bytes start with an XML declaration naming UTF-8; the root is SalesOrder version 1 in the namespace."""
    result = build(b2b_order())
    assert isinstance(result, BuiltMessage)
    assert result.xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = etree.fromstring(result.xml)
    assert root.tag == f"{{{contract.MESSAGES_NS}}}SalesOrder" and root.get("version") == "1"
    assert "Mäkinen".encode() in result.xml


def test_values_are_copied_as_written():
    """Quantities, prices, percentages and the date are never re-formatted: `059.9000` stays `059.9000`."""
    order = one_line(quantity="002.500", unitPrice="059.9000", discountPercent="010.0", vatRate="25.50")
    order["createdAt"] = "2026-11-28T04:39:12.123456789-03:30"
    root = built(order)
    assert texts(root, "//s:Line/s:Quantity | //s:Line/s:UnitPrice") == ["002.500", "059.9000"]
    assert texts(root, "//s:DiscountPercent | //s:VatRate") == ["010.0", "25.50"]
    assert texts(root, "s:OrderDate") == ["2026-11-28T04:39:12.123456789-03:30"]
    assert texts(root, "//s:LineTotal") == ["134.78"]  # 2.5 * 59.9 * 0.9 = 134.775


# --- amounts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "line_total"),
    [
        ({"quantity": "1", "unitPrice": "0.005"}, "0.01"),  # half up, not half even (0.00)
        ({"quantity": "3", "unitPrice": "0.0050"}, "0.02"),  # 0.015
        ({"quantity": "1", "unitPrice": "0.0149"}, "0.01"),
        ({"quantity": "1", "unitPrice": "0.15", "discountPercent": "50"}, "0.08"),  # 0.075
        ({"quantity": "0.001", "unitPrice": "0.0001"}, "0.00"),
        ({"quantity": "7", "unitPrice": "12.34", "discountPercent": "100"}, "0.00"),
        ({"quantity": "1", "unitPrice": "0"}, "0.00"),
        ({"quantity": "999999999.999", "unitPrice": "99.9999", "discountPercent": "33.33"}, "66669933329.93"),
    ],
)
def test_line_total_rounds_half_up_to_cents(line: dict[str, str], line_total: str):
    """LineTotal = round_half_up(Quantity * UnitPrice * (1 - DiscountPercent/100), 2), written with 2 decimals."""
    assert texts(built(one_line(**line)), "//s:LineTotal") == [line_total]


def test_vat_is_rounded_per_line_then_summed():
    """Vat sums each line's rounded VAT (0.025 -> 0.03, twice: 0.06), not the VAT of the summed Net (0.05)."""
    order = one_line(quantity="1", unitPrice="0.10", vatRate="25")
    order["lines"].append(dict(order["lines"][0], sku="ITEM-2"))
    root = built(order)
    assert texts(root, "s:Totals/*") == ["0.20", "0.06", "0.26"]


def test_totals_of_the_b2b_example():
    """Net = sum(LineTotal), Gross = Net + Vat, all with exactly 2 decimals."""
    assert texts(built(b2b_order()), "s:Totals/*") == ["157.62", "40.19", "197.81"]


# --- AdditionalInfo -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variant", "own", "info"),
    [
        ({"Size": "43"}, [("Size", "43")], None),  # exactly the item's own
        ({"Size": "43", "Colour": "Black"}, [("Colour", "Black"), ("Size", "43")], None),  # same set, other order
        ({"Size": "43"}, [("Size", "43"), ("Colour", "Black")], "Size = 43"),  # a subset
        ({"Size": "43", "Colour": "Black"}, [("Size", "43")], "Size = 43, Colour = Black"),  # a superset
        ({"Size": "l"}, [("Size", "L")], "Size = l"),  # compared exactly
        ({"Size": "43"}, None, "Size = 43"),  # an item not synced counts as having none
        ({"Size": "43"}, [], "Size = 43"),
        ({"Width": "W", "Size": "43", "Colour": "Red"}, [], "Width = W, Size = 43, Colour = Red"),  # shop's order
        ({}, None, None),  # no variant attributes, nothing to say
    ],
)
def test_additional_info_when_variant_is_not_the_items_own(variant, own, info):
    """AdditionalInfo lists all the line's variant pairs unless they are exactly the item's own set."""
    order = one_line(quantity="1", unitPrice="1", variant=variant)
    root = built(order, {} if own is None else {"ITEM-1": own})
    assert texts(root, "//s:AdditionalInfo") == ([] if info is None else [info])


def test_additional_info_is_cut_to_240_after_dropping_forbidden_characters():
    """AdditionalInfo is a free text: XML-forbidden characters dropped, then cut to 240 code points."""
    variant = {"A\x00": "x" * 80, "B": "y" * 80, "Colour\ufffe": "z" * 80}
    info = texts(built(one_line(quantity="1", unitPrice="1", variant=variant), {}), "//s:AdditionalInfo")[0]
    expected = ("A = " + "x" * 80 + ", B = " + "y" * 80 + ", Colour = " + "z" * 80)[:240]
    assert info == expected and len(info) == 240


# --- free texts ---------------------------------------------------------------------------------


def test_texts_are_cut_to_sonet_limits_in_code_points():
    """Names, streets, cities (80), the reference (80) and the comment (1000) are cut, counting code points."""
    order = b2b_order()
    order["billingAddress"]["name"] = "N" * 79 + "😀" + "tail"
    order["billingAddress"]["street"] = "😀" * 200
    order["deliveryAddress"]["city"] = "e" * 79 + "e\u0301"  # the combining acute is the 81st code point
    order["customerReference"] = "R" * 200
    order["comment"] = "ä" * 4000
    root = built(order)
    assert texts(root, "s:BillingAddress/s:Name") == ["N" * 79 + "😀"]  # an emoji is one character
    assert texts(root, "s:BillingAddress/s:Street") == ["😀" * 80]
    assert texts(root, "s:DeliveryAddress/s:City") == ["e" * 80]  # the mark beyond the limit is cut off
    assert texts(root, "s:CustomerReference") == ["R" * 80]
    assert texts(root, "s:Comment") == ["ä" * 1000]


def test_forbidden_characters_are_dropped_and_markup_survives():
    """Control characters, lone surrogates, U+FFFE/U+FFFF are dropped; tab, LF, CR, & < > ]]> are kept."""
    order = b2b_order()
    order["billingAddress"]["name"] = "A\x00B\x1fC\ud800D\udfffE\ufffeF\uffffG"
    order["comment"] = "tab\tlf\ncr\r & <b> ]]> \x7f\x85 end"
    root = built(order)
    assert texts(root, "s:BillingAddress/s:Name") == ["ABCDEFG"]
    assert texts(root, "s:Comment") == ["tab\tlf\ncr\r & <b> ]]> \x7f\x85 end"]


def test_guest_texts_and_empty_optionals():
    """A guest's name and phone are cut; optional texts with nothing left are left out; the e-mail is kept."""
    order = guest_order()
    order["customer"].update(name="G" * 200, phone="\x01\x02", email=" Anna@Example.FI")
    order.update(customerReference="\x00", comment="")
    order["customer"]["contactId"] = "IGNORED-FOR-GUESTS"
    root = built(order)
    assert texts(root, "s:Customer/s:Guest/*") == ["G" * 80, " Anna@Example.FI"]
    assert root.find("s:CustomerReference", NS) is None and root.find("s:Comment", NS) is None
    assert root.find("s:ContactId", NS) is None


def test_whitespace_only_required_text_is_kept():
    """Text80's minLength 1 accepts a blank (xs:string keeps whitespace), so a blank name is sent as written."""
    order = b2b_order()
    order["deliveryAddress"]["name"] = " \x00 "
    assert texts(built(order), "s:DeliveryAddress/s:Name") == ["  "]


def test_empty_contact_id_is_left_out():
    """An account order's empty contactId is no contact: ContactId is left out."""
    order = b2b_order()
    order["customer"]["contactId"] = ""
    assert built(order).find("s:ContactId", NS) is None


# --- unmappable orders --------------------------------------------------------------------------


def _set(path: str, value: Any):
    def mutate(order: dict[str, Any]) -> None:
        *parents, last = path.replace("[", ".").replace("]", "").split(".")
        target: Any = order
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value

    return mutate


def _huge_line_total(order: dict[str, Any]) -> None:
    order["lines"][0].update(quantity="999999999999", unitPrice="99999999.99")


def _huge_net(order: dict[str, Any]) -> None:
    """Two lines of 98999999999901.00 each: each fits Money's 14 digits, their sum does not."""
    order["lines"] = [{"sku": f"I{n}", "quantity": "999999999999", "unitPrice": "99", "vatRate": "0"} for n in (1, 2)]


UNMAPPABLE_CASES = {
    "order number with a space": (_set("orderNumber", "WEB 1"), "orderNumber"),
    "lower-case t in createdAt": (_set("createdAt", "2026-11-28t04:38:00Z"), "createdAt"),
    "lower-case z in createdAt": (_set("createdAt", "2026-11-28T04:38:00z"), "createdAt"),
    "offset beyond 14:00": (_set("createdAt", "2026-11-28T04:38:00+14:30"), "createdAt"),
    "leap second": (_set("createdAt", "2026-12-31T23:59:60Z"), "createdAt"),
    "year 0000": (_set("createdAt", "0000-01-01T00:00:00Z"), "createdAt"),
    "customer number with a space": (_set("customer.customerNumber", "C 10042"), "customer.customerNumber"),
    "customer number empty": (_set("customer.customerNumber", ""), "customer.customerNumber"),
    "contact id with a space": (_set("customer.contactId", "C10042 2"), "customer.contactId"),
    "billing name only control characters": (_set("billingAddress.name", "\x00\x01"), "billingAddress.name"),
    "delivery street only surrogates": (_set("deliveryAddress.street", "\ud83d"), "deliveryAddress.street"),
    "billing city empty": (_set("billingAddress.city", ""), "billingAddress.city"),
    "postal code over 12": (_set("deliveryAddress.postalCode", "1234567890123"), "deliveryAddress.postalCode"),
    "postal code with a control character": (_set("billingAddress.postalCode", "0\x0b"), "billingAddress.postalCode"),
    "country code lower case": (_set("billingAddress.countryCode", "fi"), "billingAddress.countryCode"),
    "currency not three capitals": (_set("currency", "EURO"), "currency"),
    "delivery method with a space": (_set("deliveryMethod", "POSTI B2B"), "deliveryMethod"),
    "payment method starting with a dash": (_set("paymentMethod", "-CARD"), "paymentMethod"),
    "payment method over 40": (_set("paymentMethod", "P" * 41), "paymentMethod"),
    "sku with a space": (_set("lines[1].sku", "GLOVE WORK"), "lines[1].sku"),
    "sku with a letter beyond ASCII": (_set("lines[0].sku", "SAAPAS-Ä"), "lines[0].sku"),
    "quantity 0": (_set("lines[1].quantity", "0"), "lines[1].quantity"),
    "quantity 0.000": (_set("lines[0].quantity", "0.000"), "lines[0].quantity"),
    "quantity of 13 digits": (_set("lines[0].quantity", "1234567890123"), "lines[0].quantity"),
    "quantity of 13 digits with a fraction": (_set("lines[0].quantity", "999999999999.5"), "lines[0].quantity"),
    "unit price of 15 digits": (_set("lines[1].unitPrice", "12345678901.2345"), "lines[1].unitPrice"),
    "discount over 100": (_set("lines[0].discountPercent", "100.01"), "lines[0].discountPercent"),
    "VAT rate over 100": (_set("lines[1].vatRate", "255"), "lines[1].vatRate"),
    "line total over 14 digits": (_huge_line_total, "lines[0]"),
    "net over 14 digits": (_huge_net, "lines"),
    "no lines": (_set("lines", []), "lines"),
}


@pytest.mark.parametrize("case", UNMAPPABLE_CASES)
def test_unmappable_orders_name_their_field(case: str):
    """Each order that cannot become a valid SalesOrder gives UNMAPPABLE, its field and a message; no XML."""
    mutate, field = UNMAPPABLE_CASES[case]
    order = b2b_order()
    mutate(order)
    result = build(order)
    assert isinstance(result, Unmappable), result
    assert (result.code, result.field) == ("UNMAPPABLE", field)
    assert result.message and not result.message.startswith(XSD_REJECTED)


@pytest.mark.parametrize(
    ("customer", "field"),
    [
        ({"name": "\x00"}, "customer.name"),
        ({"name": ""}, "customer.name"),
        ({"email": "a" * 70 + "@example.fi"}, "customer.email"),  # 81 characters
        ({"email": ""}, "customer.email"),
        ({"email": "anna\x07@example.fi"}, "customer.email"),  # an e-mail address is never altered
    ],
)
def test_unmappable_guests(customer: dict[str, str], field: str):
    """A guest needs a name with something XML can carry and an e-mail of 1 to 80 characters, unaltered."""
    order = guest_order()
    order["customer"].update(customer)
    result = build(order)
    assert isinstance(result, Unmappable) and (result.code, result.field) == ("UNMAPPABLE", field)


def test_gross_over_14_digits_is_unmappable():
    """Gross = Net + Vat can outgrow Money's 14 digits when Net and Vat do not."""
    order = one_line(quantity="999999999999", unitPrice="90", vatRate="20")
    result = build(order)
    assert isinstance(result, Unmappable) and result.field == "lines" and "Gross" in result.message


def test_message_over_one_mebibyte_is_too_large():
    """A message over 1 MiB (999 lines of escaped AdditionalInfo) is TOO_LARGE, with no one field to blame."""
    order = guest_order()
    variant = {"a": "&" * 80, "b": "&" * 80, "c": "&" * 80}
    order["lines"] = [
        {"sku": f"I-{n}", "quantity": "1", "unitPrice": "1", "vatRate": "24", "variant": variant} for n in range(999)
    ]
    result = build(order)
    assert isinstance(result, Unmappable) and result.code == "TOO_LARGE" and result.field is None
    assert str(MAX_MESSAGE_BYTES) in result.message


def test_999_lines_fit():
    """The largest order the XSD allows in lines builds, numbered 1 to 999."""
    order = guest_order()
    order["lines"] = [{"sku": f"I-{n}", "quantity": "1", "unitPrice": "1", "vatRate": "24"} for n in range(999)]
    root = built(order)
    assert [line.get("number") for line in root.iterfind("s:Lines/s:Line", NS)] == [str(n) for n in range(1, 1000)]


def test_the_xsd_gate_catches_what_the_rules_miss(monkeypatch):
    """Were a rule missing, the packaged XSD still refuses the message: Unmappable naming the XSD and the field."""
    monkeypatch.setattr(sales_order_rules, "code", lambda value, field: value)
    order = b2b_order()
    order["lines"][1]["sku"] = "GLOVE WORK"
    result = build(order)
    assert isinstance(result, Unmappable) and result.code == "UNMAPPABLE"
    assert result.message.startswith(XSD_REJECTED) and "pattern" in result.message
    assert result.field == "lines[1].sku"


def test_malformed_message_id_is_the_callers_mistake():
    """A MessageId outside the XSD's pattern raises ValueError: it does not come from the order."""
    with pytest.raises(ValueError, match="MessageId"):
        build_sales_order(b2b_order(), message_id="short", variant_attributes=OWN_ATTRIBUTES.get)
