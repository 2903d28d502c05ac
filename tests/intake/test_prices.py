"""Prices at the door (intake/price_gate.py): an order line not at its buyer's price at the order's
createdAt is flagged (the answer, the outbox) or, with `order_prices.mismatch: refuse`, refused 422
PRICE_MISMATCH naming the line, the expected and the given price; over HTTP, single and batch, and for
`orders enqueue`. Prices: tests/intake/price_snapshot.py (C10042 buys 10+ GLOVE-WORK at 3.90)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.config.tenants import OrderPrices, SonetConnection, Tenant
from sonet_pipeline.intake.enqueue_file import enqueue_file
from sonet_pipeline.intake.price_gate import PublishedPrices, judge_prices
from sonet_pipeline.intake.published import CHECK_SECONDS
from sonet_pipeline.intake.rights_gate import PublishedRights
from sonet_pipeline.intake.server import RunningIntake
from sonet_pipeline.outbox import open_outbox, to_json
from sonet_pipeline.store import Snapshot
from tests.intake.conftest import TOKENS, Client, order
from tests.intake.price_snapshot import LINES, publish_prices
from tests.intake.rights_snapshot import publish, seed_records

ADMIN = {"kind": "account", "customerNumber": "C10042", "contactId": "C10042-1"}
GUEST = {"kind": "guest", "name": "Maija Meikäläinen", "email": "maija@example.fi"}
GLOVES_AT_LIST = {"sku": "GLOVE-WORK", "quantity": "12", "unitPrice": "4.15", "vatRate": "25.5"}
GLOVES_AT_LINE = {**GLOVES_AT_LIST, "unitPrice": "3.90"}
BOOTS = {"sku": "BOOT-PRO-43", "quantity": "2", "unitPrice": "59.90", "vatRate": "25.5"}


def tenant(name: str, mismatch: str) -> Tenant:
    sonet = SonetConnection(base_url="http://127.0.0.1:9", company="01", token_env="SONET_TOKEN")
    return Tenant(
        name=name, sonet=sonet, intake_token_env="ACME_INTAKE_TOKEN", order_prices=OrderPrices(mismatch=mismatch)
    )


FLAGGING, REFUSING = tenant("flagging", "flag"), tenant("refusing", "refuse")


def placed(customer: dict[str, Any], *lines: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return order(customer=dict(customer), lines=[dict(line) for line in lines], **changes)


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory) -> Snapshot:
    return publish_prices(tmp_path_factory.mktemp("prices") / "snapshot")


@pytest.fixture(scope="module")
def world(tmp_path_factory, snapshot):
    root = tmp_path_factory.mktemp("intake-prices")
    rights = PublishedRights(lambda name: snapshot, clock=ManualClock())
    with (
        open_outbox(root / "outbox.sqlite") as outbox,
        RunningIntake([FLAGGING, REFUSING], outbox, token_lookup=TOKENS.get, rights=rights) as running,
    ):
        yield Client(running.base_url), outbox


def test_an_order_at_its_buyers_prices_is_taken_unflagged(world):
    client, outbox = world
    for tenant_name in ("flagging", "refusing"):
        answer = client.post("/orders", placed(ADMIN, BOOTS, GLOVES_AT_LINE), tenant=tenant_name)
        assert answer.status_code == 202, answer.text
        assert "price_mismatches" not in answer.json()
        message = outbox.get(answer.json()["message_id"])
        assert message is not None and message.price_mismatches is None


def test_a_line_off_the_buyers_price_is_flagged_in_the_answer_and_the_outbox(world):
    client, outbox = world
    sent = placed(ADMIN, BOOTS, GLOVES_AT_LIST)
    answer = client.post("/orders", sent, tenant="flagging")
    assert answer.status_code == 202, answer.text
    [flag] = answer.json()["price_mismatches"]
    assert (flag["field"], flag["given"], flag["expected"], flag["setBy"]) == (
        "lines[1].unitPrice",
        "4.15",
        "3.90",
        "price list PL-RAKENNUS line RAK-GLOVE-10",
    )
    assert flag["priceListLine"]["lineId"] == "RAK-GLOVE-10"
    message = outbox.get(answer.json()["message_id"])
    assert message is not None and to_json(message)["price_mismatches"] == [flag]
    assert message.state == "pending"  # flagged, still sent: Sonet never checks prices


def test_refused_with_price_mismatch_naming_line_expected_and_given_price_and_not_stored(world):
    client, outbox = world
    sent = placed(ADMIN, BOOTS, GLOVES_AT_LIST)
    answer = client.post("/orders", sent, tenant="refusing")
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["field"]) == ("PRICE_MISMATCH", "lines[1].unitPrice")
    assert (
        "lines[1].unitPrice: 4.15 EUR given, 3.90 EUR expected (price list PL-RAKENNUS line RAK-GLOVE-10)"
        in (error["message"])
    )
    assert [(line["field"], line["given"], line["expected"]) for line in error["lines"]] == [
        ("lines[1].unitPrice", "4.15", "3.90")
    ]
    assert outbox.find("refusing", sent["orderNumber"]) is None


def test_the_same_order_stored_before_is_answered_as_stored_not_refused(world):
    client, outbox = world
    sent = placed(ADMIN, BOOTS, GLOVES_AT_LIST)
    earlier = outbox.enqueue("refusing", sent, actor="test", now=ManualClock().now())
    answer = client.post("/orders", sent, tenant="refusing")
    assert (answer.status_code, answer.json()["message_id"]) == (200, earlier.message_id)


def test_a_guest_pays_the_list_price(world):
    client, _ = world
    assert (
        "price_mismatches" not in client.post("/orders", placed(GUEST, BOOTS, GLOVES_AT_LIST), tenant="flagging").json()
    )
    answer = client.post("/orders", placed(GUEST, BOOTS, GLOVES_AT_LINE), tenant="flagging")
    [flag] = answer.json()["price_mismatches"]
    assert (flag["expected"], flag["setBy"], flag["priceListLine"]) == ("4.15", "list price", None)
    refused = client.post("/orders", placed(GUEST, BOOTS, GLOVES_AT_LINE), tenant="refusing")
    assert refused.status_code == 422 and "4.15 EUR expected (list price)" in refused.json()["error"]["message"]


def test_an_order_in_another_currency_is_a_mismatch_named_as_such(world):
    client, _ = world
    answer = client.post("/orders", placed(ADMIN, BOOTS, currency="SEK"), tenant="refusing")
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["lines"][0]["currencyDiffers"] is True
    assert "59.90 SEK given, 59.90 EUR expected (another currency)" in error["message"]


def test_a_batch_judges_each_order_alike(world):
    client, outbox = world
    good, off = placed(ADMIN, GLOVES_AT_LINE), placed(ADMIN, GLOVES_AT_LIST)
    refusing = client.post("/orders/batch", [good, off], tenant="refusing")
    assert [entry["status"] for entry in refusing.json()] == [202, 422]
    assert refusing.json()[1]["error"]["code"] == "PRICE_MISMATCH"
    assert outbox.find("refusing", off["orderNumber"]) is None
    good, off = placed(ADMIN, GLOVES_AT_LINE), placed(ADMIN, GLOVES_AT_LIST)
    flagging = client.post("/orders/batch", [good, off], tenant="flagging").json()
    assert [entry["status"] for entry in flagging] == [202, 202]
    assert "price_mismatches" not in flagging[0]
    assert flagging[1]["price_mismatches"][0]["field"] == "lines[0].unitPrice"
    message = outbox.get(flagging[1]["message_id"])
    assert message is not None and message.price_mismatches == flagging[1]["price_mismatches"]


def test_orders_enqueue_judges_prices_as_the_intake_does(tmp_path, snapshot):
    rights = PublishedRights(lambda name: snapshot)
    orders = [placed(ADMIN, GLOVES_AT_LINE), placed(ADMIN, GLOVES_AT_LIST)]
    path = tmp_path / "orders.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in orders) + "\n")
    with open_outbox(tmp_path / "outbox.sqlite") as outbox:
        refused = enqueue_file(path, tenant=REFUSING, outbox=outbox, rights=rights)
        assert [entry.outcome for entry in refused.orders] == ["accepted", "refused"]
        error = refused.orders[1].error
        assert error is not None and (error.code, error.field) == ("PRICE_MISMATCH", "lines[0].unitPrice")
        assert "4.15 EUR given, 3.90 EUR expected" in refused.orders[1].describe() and refused.exit_code == 1
        flagged = enqueue_file(path, tenant=FLAGGING, outbox=outbox, rights=rights)
        assert [entry.outcome for entry in flagged.orders] == ["accepted", "accepted"] and flagged.exit_code == 0
        entry = flagged.orders[1]
        assert entry.price_mismatches is not None and entry.price_mismatches[0]["expected"] == "3.90"
        assert "price mismatch at lines[0].unitPrice" in entry.describe()
        message = outbox.get(str(entry.message_id))
        assert message is not None and message.price_mismatches == entry.price_mismatches


def test_prices_are_not_judged_until_published_and_are_followed_when_they_change(tmp_path):
    """No items or price list lines synced yet: not judged (taken as is). Once published they are read
    (rechecked every CHECK_SECONDS); a changed line is followed from the snapshot that publishes it."""
    folder, clock = tmp_path / "snapshot", ManualClock()
    publish(folder, *seed_records())  # customers and segments only
    prices = PublishedPrices(lambda name: Snapshot(folder), clock=clock)
    off = placed(ADMIN, GLOVES_AT_LIST)
    assert prices.get(FLAGGING) is None and judge_prices(off, prices.get(FLAGGING)) == []
    publish_prices(folder)
    assert prices.get(FLAGGING) is None  # not checked again yet
    clock.advance(CHECK_SECONDS)
    [flag] = judge_prices(off, prices.get(FLAGGING))
    assert flag.expected == Decimal("3.90")
    publish_prices(folder, [*LINES[:1], {**LINES[1], "price": "4.15", "dateModified": "2026-11-02T00:00:00.000Z"}])
    clock.advance(CHECK_SECONDS)
    assert judge_prices(off, prices.get(FLAGGING)) == []
