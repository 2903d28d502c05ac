"""What the core hands each point matches that point's payload schema (the page partners read,
`sonet_pipeline/extensions/schemas/`), checked on the batches the flows really build."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest

from sonet_pipeline.config.shop import ShopConfig
from sonet_pipeline.extensions.chains import TenantChains
from sonet_pipeline.extensions.extension import ExtensionSpec
from sonet_pipeline.extensions.kinds import register_kind
from sonet_pipeline.extensions.points import CATALOGUE_LINE, RIGHTS, SALES_ORDER, SYNCED_RECORD, WEB_ORDER
from sonet_pipeline.extensions.python_kind import PythonExtension
from sonet_pipeline.extensions.records import extended_records
from sonet_pipeline.extensions.schemas import PAYLOAD, schema
from sonet_pipeline.orders.sales_order_xml import build_sales_order
from sonet_pipeline.outbound.order_extensions import extended_orders, extended_sales_orders
from sonet_pipeline.rights.accounts import build_accounts
from sonet_pipeline.rights.rules import rights_matrix
from sonet_pipeline.shop.catalogue import build_catalogue
from sonet_pipeline.shop.line_extensions import extended_lines
from sonet_pipeline.shop.publish import EncodedLines, jsonl
from tests.outbox.helpers import order
from tests.rights.test_rules import RULES, SEGMENTS, customer
from tests.store import samples

SEEN: dict[str, list[list[dict[str, Any]]]] = {}


def _recording(point: str):
    def call(batch):
        SEEN.setdefault(point, []).append(batch)
        return [{} for _ in batch] if point == RIGHTS else batch

    return call


@pytest.fixture
def recording() -> TenantChains:
    SEEN.clear()
    register_kind("test-payloads", lambda spec: PythonExtension(spec.name, spec.point, _recording(spec.point)))
    points = (WEB_ORDER, SALES_ORDER, SYNCED_RECORD, RIGHTS, CATALOGUE_LINE)
    return TenantChains("acme", [ExtensionSpec("acme", p, "recorder", "test-payloads", 5) for p in points])


def valid(point: str) -> None:
    (batch,) = SEEN[point]
    assert batch, point
    jsonschema.validate(batch, schema(point, PAYLOAD))


def message(number: str) -> SimpleNamespace:
    built = build_sales_order(order(number), message_id=f"m-{number}-0001", variant_attributes=lambda sku: None)
    return SimpleNamespace(message_id=f"m-{number}-0001", order_number=number, order=order(number), xml=built.xml)


def test_the_senders_payloads(recording):
    messages = [message("WEB-1"), message("WEB-2")]
    extended_orders(recording, messages)
    extended_sales_orders(recording, messages)
    valid(WEB_ORDER)
    valid(SALES_ORDER)


def test_the_shops_payloads(recording):
    customers = [customer("C2", ["RESELLER-N"], ["ADMIN", None]), customer("C3", ["B2B-SAHKO"], ["BUYER"])]
    kept = extended_records(recording, "customers", customers)
    assert list(kept.records) == customers and not kept.failed
    valid(SYNCED_RECORD)
    rights_matrix(build_accounts(customers, SEGMENTS), RULES, recording)
    valid(RIGHTS)
    items = [samples.item("A-1"), samples.item("B-2", name="Blue hat")]
    products = build_catalogue(items, strategy="item_per_variant", shop=ShopConfig()).products
    extended_lines(recording, EncodedLines(jsonl(products), len(products)))
    valid(CATALOGUE_LINE)
