"""The tenant's extensions around the build of a SalesOrder: the web order before it is mapped
(`web_order`), the SalesOrder's XML before it is stored and sent (`sales_order`).

One call per point for the messages the sender builds together. An extension's failure fails those
messages (code `EXTENSION`, the message "extension <name>: <reason>"); their web order is kept as
taken, so `outbox resend` builds them again, through the extensions, once they are fixed. What an
extension returns meets the same checks as before: the web order `commerce-order.schema.json` and
the intake's rules, the SalesOrder `sales-order.xsd` with its MessageId and WebOrderNumber unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lxml import etree

from sonet_pipeline.extensions.chains import TenantChains
from sonet_pipeline.extensions.extension import ExtensionFailed
from sonet_pipeline.extensions.points import SALES_ORDER, WEB_ORDER
from sonet_pipeline.orders.sales_order_xml import BuiltMessage, Unmappable, checked_sales_order
from sonet_pipeline.orders.validation import validate_order
from sonet_pipeline.outbox.model import Message

#: The outbox error code of a message an extension failed.
EXTENSION = "EXTENSION"

_KEPT = ("MessageId", "WebOrderNumber")


def extended_orders(chains: TenantChains | None, messages: Sequence[Message]) -> dict[str, dict[str, Any] | Unmappable]:
    """Per message id, the web order to map after the `web_order` extensions, or why it failed."""
    if chains is None or not messages or not chains.has(WEB_ORDER):
        return {}
    outcomes = chains.apply(WEB_ORDER, [m.order for m in messages], check=_order_problem)
    return {
        m.message_id: _failed(o) if isinstance(o, ExtensionFailed) else o
        for m, o in zip(messages, outcomes, strict=True)
    }


def extended_sales_orders(chains: TenantChains | None, built: Sequence[Message]) -> dict[str, bytes | Unmappable]:
    """Per message id of `built` (messages with their new XML), the XML to store and send after the
    `sales_order` extensions (as lxml serializes the tree the XSD accepted), or why it failed."""
    if chains is None or not built or not chains.has(SALES_ORDER):
        return {}
    payload = [
        {"message_id": m.message_id, "order_number": m.order_number, "xml": (m.xml or b"").decode("utf-8")}
        for m in built
    ]
    outcomes = chains.apply(SALES_ORDER, payload, check=_sales_order_problem)
    found: dict[str, bytes | Unmappable] = {}
    for message, outcome in zip(built, outcomes, strict=True):
        if isinstance(outcome, ExtensionFailed):
            found[message.message_id] = _failed(outcome)
            continue
        checked = checked_sales_order(outcome["xml"].encode("utf-8"))
        found[message.message_id] = checked.xml if isinstance(checked, BuiltMessage) else checked
    return found


def _failed(failure: ExtensionFailed) -> Unmappable:
    return Unmappable(EXTENSION, failure.message, None)


def _order_problem(after: dict[str, Any], before: dict[str, Any]) -> str | None:
    problems = validate_order(after)
    if not problems:
        return None
    first = problems[0]
    where = f" at {first.field}" if first.field else ""
    return f"returned an order the intake would refuse{where}: {first.message}"


def _sales_order_problem(after: dict[str, Any], before: dict[str, Any]) -> str | None:
    xml = str(after["xml"]).encode("utf-8")
    checked = checked_sales_order(xml)
    if isinstance(checked, Unmappable):
        return f"returned a SalesOrder that fails the final check: {checked.message}"
    old, new = _kept_values(str(before["xml"]).encode("utf-8")), _kept_values(checked.xml)
    changed = [name for name in _KEPT if old.get(name) != new.get(name)]
    return f"changed the SalesOrder's {', '.join(changed)}" if changed else None


def _kept_values(xml: bytes) -> dict[str, str | None]:
    root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True))
    return {name: root.findtext(f"{{*}}{name}") for name in _KEPT}
