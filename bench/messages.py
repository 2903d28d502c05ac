"""How many SalesOrder messages one core builds and validates per second, next to lxml's raw rate.

    .venv/bin/python bench/messages.py [--seconds 2]

A typical order: an account order with 10 lines, 3 of them with variant attributes (one of them exactly
the item's own). Each figure is the best of 3 runs of about `--seconds` each:

- `validate_order`: the web-shop order against `commerce-order.schema.json` (fastjsonschema) + semantics;
- `build_sales_order`: checks, amounts, lxml tree, serialize, parse the bytes, XSD-validate;
- lxml raw: the same document built from ready strings with `etree.SubElement`, serialized, parsed and
  XSD-validated: the ceiling for any builder that uses lxml and validates what it sends;
- intake + build: `validate_order` then `build_sales_order`, what one order costs the pipeline.

Rates are per CPU second of the benchmark process (`time.process_time`), so other work on the machine
slows them less than it slows wall-clock figures.
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Callable
from typing import Any

from lxml import etree

from sonet_pipeline.contract import MESSAGES_NS, sales_order_schema
from sonet_pipeline.orders import BuiltMessage, build_sales_order, validate_order

MESSAGE_ID = "0b6f2f7e-5d1c-4c55-9a57-3f1b1c9a0e21"
OWN_ATTRIBUTES = {"BOOT-PRO-43": [("Size", "43")]}


def typical_order() -> dict[str, Any]:
    lines: list[dict[str, Any]] = []
    for n in range(10):
        line: dict[str, Any] = {"sku": f"ITEM-{n:04d}", "quantity": str(n + 1), "unitPrice": f"{4.15 + n:.2f}"}
        line["vatRate"] = "25.5"
        if n % 3 == 0:
            line["discountPercent"] = "10"
        lines.append(line)
    lines[0]["sku"], lines[0]["variant"] = "BOOT-PRO-43", {"Size": "43"}
    lines[1]["variant"] = {"Size": "L"}
    lines[2]["variant"] = {"Colour": "Hi-vis yellow", "Size": "XL"}
    address = {"street": "Teollisuuskatu 12", "postalCode": "00510", "city": "Helsinki", "countryCode": "FI"}
    return {
        "orderNumber": "WEB-100234",
        "createdAt": "2026-11-28T04:38:00Z",
        "currency": "EUR",
        "customer": {"kind": "account", "customerNumber": "C10042", "contactId": "C10042-2"},
        "customerReference": "PO 7781 / Mäkinen",
        "billingAddress": {"name": "Rakennus Oy Mäkinen & Poika", **address},
        "deliveryAddress": {"name": "Työmaa Kalasatama", **address},
        "deliveryMethod": "POSTI-B2B",
        "paymentMethod": "INVOICE-14",
        "lines": lines,
        "comment": "Toimitus takaovelle, soita 15 min ennen.",
    }


def rate(work: Callable[[], object], seconds: float) -> float:
    """Calls per CPU second of this process, best of 3 runs of about `seconds` of CPU time.

    CPU time rather than wall time: on a shared machine, time spent waiting for a core does not count.
    """
    best = 0.0
    for _ in range(3):
        count, start = 0, time.process_time()
        while (elapsed := time.process_time() - start) < seconds:
            for _ in range(100):
                work()
            count += 100
        best = max(best, count / elapsed)
    return best


def lxml_raw(xml: bytes) -> Callable[[], object]:
    """Rebuild `xml`'s tree from ready strings with SubElement, then serialize, parse and validate it."""
    shape = etree.fromstring(xml)
    plan = [(element.tag, element.text, dict(element.attrib), depth) for element, depth in _walk(shape)]
    schema = sales_order_schema()
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True)

    def work() -> object:
        root = etree.Element(shape.tag, nsmap={None: MESSAGES_NS}, version="1")
        stack = [root]
        for tag, text, attrib, depth in plan:
            del stack[depth:]
            element = etree.SubElement(stack[-1], tag, attrib)
            element.text = text
            stack.append(element)
        data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        if not schema.validate(etree.fromstring(data, parser)):
            raise AssertionError(schema.error_log)
        return data

    return work


def _walk(element: etree._Element, depth: int = 1) -> list[tuple[etree._Element, int]]:
    out: list[tuple[etree._Element, int]] = []
    for child in element:
        out.append((child, depth))
        out.extend(_walk(child, depth + 1))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each timed run")
    seconds = parser.parse_args().seconds
    order = typical_order()
    assert not validate_order(order)
    built = build_sales_order(order, message_id=MESSAGE_ID, variant_attributes=OWN_ATTRIBUTES.get)
    assert isinstance(built, BuiltMessage), built
    orders = [copy.deepcopy(order) for _ in range(10)]

    def build() -> object:
        return build_sales_order(order, message_id=MESSAGE_ID, variant_attributes=OWN_ATTRIBUTES.get)

    def intake_and_build() -> object:
        for each in orders:
            validate_order(each)
            build_sales_order(each, message_id=MESSAGE_ID, variant_attributes=OWN_ATTRIBUTES.get)
        return None

    figures = [
        ("validate_order (fastjsonschema + semantic rules)", rate(lambda: validate_order(order), seconds)),
        ("build_sales_order (build, serialize, parse, XSD-validate)", rate(build, seconds)),
        ("lxml raw (SubElement, serialize, parse, XSD-validate)", rate(lxml_raw(built.xml), seconds)),
        ("validate_order + build_sales_order", rate(intake_and_build, seconds) * len(orders)),
    ]
    print(f"typical order: 10 lines, {len(built.xml)} bytes of XML; per CPU second of one core, best of 3")
    print(f"{'what':<60} {'per second':>11} {'µs each':>8}")
    for what, per_second in figures:
        print(f"{what:<60} {per_second:>11,.0f} {1e6 / per_second:>8.1f}")
    print(f"build_sales_order / lxml raw: {figures[1][1] / figures[2][1]:.2f}")


if __name__ == "__main__":
    main()
