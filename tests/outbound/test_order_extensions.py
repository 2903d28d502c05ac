"""The `web_order` and `sales_order` extension points in the sender, with the sample partner package.

An extension's effect reaches Sonet; an extension that goes wrong fails only the orders it was given
(code EXTENSION, "extension <name>: <reason>"), never sends them, and `outbox resend` sends them once
the tenant's extensions are fixed.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.extensions.chains import TenantChains
from sonet_pipeline.extensions.extension import ExtensionSpec
from sonet_pipeline.extensions.points import SALES_ORDER, WEB_ORDER
from sonet_pipeline.outbound.order_extensions import EXTENSION
from sonet_pipeline.outbound.sender import Sender
from sonet_pipeline.outbox import FAILED, SENT, Outbox
from sonet_pipeline.outbox.model import Selection
from tests.outbound.fakes import ScriptedSonet
from tests.outbox.helpers import T0, TENANT, order


def chains(*declared: tuple[str, str], timeout: float = 5) -> TenantChains:
    return TenantChains(TENANT, [ExtensionSpec(TENANT, point, name, "python", timeout) for point, name in declared])


def send(outbox: Outbox, clock: ManualClock, extensions: TenantChains | None) -> ScriptedSonet:
    sonet = ScriptedSonet(clock)
    Sender(
        tenant=TENANT,
        outbox=outbox,
        client=sonet,
        variant_attributes=lambda sku: None,
        clock=clock,
        owner="run-1",
        retry_window=timedelta(hours=24),
        in_flight=2,
        rate=5.0,
        rng=random.Random(7),
        extensions=extensions,
    ).send_due(limit=100)
    return sonet


def enqueue(outbox: Outbox, clock: ManualClock, *orders) -> list[str]:
    return [r.message_id for r in outbox.enqueue_many(TENANT, list(orders), actor="intake", now=clock.now())]


def test_both_points_change_what_sonet_gets(outbox, partner_extensions):
    """The web order gains a customer reference before mapping; the SalesOrder a Comment before it is stored."""
    clock = ManualClock(T0)
    ids = enqueue(outbox, clock, order("WEB-1"), order("WEB-2", customerReference="PO-7"))
    extensions = chains((WEB_ORDER, "acme_customer_reference"), (SALES_ORDER, "acme_sales_order_comment"))
    sonet = send(outbox, clock, extensions)
    sent = {s.message_id: s.xml for s in sonet.sent}
    assert b"<CustomerReference>ACME-WEB-1</CustomerReference>" in sent[ids[0]]
    assert b"<CustomerReference>PO-7</CustomerReference>" in sent[ids[1]]
    assert all(b"<Comment>ACME: route via hub</Comment>" in xml for xml in sent.values())
    stored = outbox.get(ids[0])
    assert stored.state == SENT and stored.xml == sent[ids[0]], "the extended bytes are stored as built"
    assert stored.order == order("WEB-1"), "the web order is kept as taken"


@pytest.mark.parametrize(
    ("point", "name", "reason"),
    [
        (WEB_ORDER, "acme_raises", "raised RuntimeError: the partner's service is down"),
        (WEB_ORDER, "acme_drops_a_record", "returned 1 records for 2"),
        (SALES_ORDER, "acme_forbidden_key", "returned a record its point refuses"),
        (SALES_ORDER, "acme_breaks_xsd", "returned a SalesOrder that fails the final check: sales-order.xsd rejects"),
    ],
)
def test_a_failing_extension_fails_its_orders_named_and_resend_sends_them_once_fixed(
    outbox, partner_extensions, point, name, reason
):
    clock = ManualClock(T0)
    ids = enqueue(outbox, clock, order("WEB-1"), order("WEB-2"))
    assert send(outbox, clock, chains((point, name))).sent == [], "nothing sent"
    for message_id in ids:
        failed = outbox.get(message_id)
        assert failed.state == FAILED and failed.error.code == EXTENSION
        assert failed.error.message.startswith(f"extension {name}: {reason}")
        assert failed.xml is None, "nothing stored as built"
    outbox.resend(Selection(code=EXTENSION), actor="operator", now=clock.now())
    sonet = send(outbox, clock, chains((point, "acme_noop")))
    assert {s.message_id for s in sonet.sent} == set(ids)
    assert {outbox.get(m).state for m in ids} == {SENT}


def test_an_invalid_order_from_an_extension_fails_that_order_only(outbox, partner_extensions):
    """`acme_fails_one` spoils the order that mentions FAIL; the schema check catches a broken one too."""
    clock = ManualClock(T0)
    ids = enqueue(outbox, clock, order("WEB-1"), order("WEB-FAIL"))
    sonet = send(outbox, clock, chains((WEB_ORDER, "acme_fails_one")))
    assert [s.message_id for s in sonet.sent] == [ids[0]]
    assert outbox.get(ids[1]).error.message == "extension acme_fails_one: returned str for a record, not an object"


def test_an_extension_past_its_timeout_fails_its_orders(outbox, partner_extensions):
    from acme_partner_extensions import faulty

    clock = ManualClock(T0)
    ids = enqueue(outbox, clock, order("WEB-1"))
    faulty.RELEASE.clear()
    try:
        send(outbox, clock, chains((WEB_ORDER, "acme_hangs"), timeout=0.05))
    finally:
        faulty.RELEASE.set()
    assert outbox.get(ids[0]).error.message == "extension acme_hangs: timed out after 0.05 s"


def test_without_extensions_the_sender_builds_as_before(outbox):
    clock = ManualClock(T0)
    ids = enqueue(outbox, clock, order("WEB-1"))
    sonet = send(outbox, clock, None)
    assert [s.message_id for s in sonet.sent] == ids and b"<Comment>" not in sonet.sent[0].xml


def test_an_extension_sees_its_tenants_orders_only_and_no_token(outbox, monkeypatch):
    """The payload is the tenant's web orders as taken, one call for the batch; another tenant's
    order, the configuration and the tokens are not in it."""
    from sonet_pipeline.extensions.kinds import register_kind
    from sonet_pipeline.extensions.python_kind import PythonExtension

    monkeypatch.setenv("ACME_SONET_TOKEN", "secret-token-value")
    calls: list[list[dict]] = []

    def record(batch):
        calls.append(batch)
        return batch

    register_kind("test-recording", lambda spec: PythonExtension(spec.name, spec.point, record))
    clock = ManualClock(T0)
    ids = enqueue(outbox, clock, order("WEB-1"), order("WEB-2"))
    outbox.enqueue_many("other", [order("WEB-OTHER")], actor="intake", now=clock.now())
    spec = ExtensionSpec(TENANT, WEB_ORDER, "recording", "test-recording", 5)
    sonet = send(outbox, clock, TenantChains(TENANT, [spec]))
    assert calls == [[order("WEB-1"), order("WEB-2")]], "one call with the tenant's orders, nothing else"
    assert "secret-token-value" not in repr(calls)
    assert {s.message_id for s in sonet.sent} == set(ids)
