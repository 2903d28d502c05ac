"""One extension per point. Each takes the batch (a list of JSON-ready dicts) and returns one dict
per record, in order; the payloads and results are docs/extensions.md's."""

from __future__ import annotations

from typing import Any

from lxml import etree

Batch = list[dict[str, Any]]
_NS = "urn:sonet:messages:1"


def customer_reference(batch: Batch) -> Batch:
    """web_order: an order without a customer reference gets `ACME-<orderNumber>`."""
    return [
        {**order, "customerReference": order.get("customerReference") or f"ACME-{order['orderNumber']}"}
        for order in batch
    ]


def sales_order_comment(batch: Batch) -> Batch:
    """sales_order: a SalesOrder without a Comment gets one (Acme's Sonet routes on it)."""
    out = []
    for record in batch:
        root = etree.fromstring(record["xml"].encode("utf-8"))
        if root.find(f"{{{_NS}}}Comment") is None:
            etree.SubElement(root, f"{{{_NS}}}Comment").text = "ACME: route via hub"
        out.append({"xml": etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8")})
    return out


def item_names(batch: Batch) -> Batch:
    """synced_record: an item's name loses a trailing ` (web)` that Acme's ERP staff type."""
    out = []
    for record in batch:
        item = dict(record["record"])
        if record["entity"] == "items" and isinstance(item.get("name"), str):
            item["name"] = item["name"].removesuffix(" (web)")
        out.append({"entity": record["entity"], "record": item})
    return out


def trainees_may_not_order(batch: Batch) -> Batch:
    """rights: a login whose role is `trainee` may not order (the tenant's rules decide the rest)."""
    return [
        {"canOrder": False, "note": "Acme: trainees do not order"}
        if (login.get("role") or "").strip().lower() == "trainee"
        else {}
        for login in batch
    ]


def buyer_limit(batch: Batch) -> Batch:
    """rights: a login whose role is `buyer` orders up to 2000.00 (a lower limit of the tenant's wins)."""
    return [
        {"orderLimit": "2000.00", "note": "Acme: buyers order up to 2000.00"}
        if (login.get("role") or "").strip().lower() == "buyer"
        else {}
        for login in batch
    ]


def search_keywords(batch: Batch) -> Batch:
    """catalogue_line: each line gets `acmeKeywords`, the words of its name in lower case."""
    return [{**line, "acmeKeywords": sorted(set(str(line.get("name") or "").lower().split()))} for line in batch]


def noop(batch: Batch) -> Batch:
    """Any point but rights: every record unchanged (the benchmark's measure of an extension's own cost)."""
    return batch


def no_restriction(batch: Batch) -> Batch:
    """rights: restricts no login (the benchmark's no-op at that point)."""
    return [{} for _ in batch]
