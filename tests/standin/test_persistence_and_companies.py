"""A stand-in with a state file keeps its orders and changes across a restart; companies stay apart."""

from __future__ import annotations

from tests.standin.standin_http import B2B_ORDER, GUEST_ORDER, TOKENS, config, message_answer, message_error


def test_state_survives_a_restart(start_standin, tmp_path):
    """With a state file, a restarted stand-in has the same accepted orders (a resend is DUPLICATE with the
    same number, numbering goes on) and the same changed records, also in the Query API."""
    settings = config(state_file=str(tmp_path / "sonet-journal.jsonl"))
    before = start_standin(settings)
    assert before.send(B2B_ORDER).status_code == 201
    code = before.state("items")[0]["itemCode"]
    before.change("items", [{"itemCode": code, "listPrice": "77.70"}])
    orders = before.admin_json("GET", "/companies/01/orders")
    items = before.state("items")
    sales_orders = before.read_all("salesOrders", "messageId sonetOrderNumber dateModified")
    before.stop()

    after = start_standin(settings)  # a new process would do the same: seed data again, then the journal
    assert after.admin_json("GET", "/companies/01/orders") == orders
    assert after.state("items") == items
    assert after.read_all("salesOrders", "messageId sonetOrderNumber dateModified") == sales_orders
    again = after.send(B2B_ORDER)
    assert again.status_code == 200 and message_answer(again)["Status"] == "DUPLICATE"
    assert message_answer(again)["SonetOrderNumber"] == orders[0]["sonetOrderNumber"]
    assert message_answer(after.send(GUEST_ORDER))["SonetOrderNumber"] == "SO-01-0000002"


def test_two_companies_have_their_own_data_tokens_orders_and_throttles(start_standin):
    """Each company has its own token, seed data, orders and counters: one company's token opens no other,
    and an order accepted in one is unknown to the other."""
    sonet = start_standin(companies=("01", "02"))
    first = {n["itemCode"]: n["listPrice"] for n in sonet.read_all("items", "itemCode listPrice", company="01")}
    second = {n["itemCode"]: n["listPrice"] for n in sonet.read_all("items", "itemCode listPrice", company="02")}
    assert first != second
    assert sonet.send(B2B_ORDER, company="02", token=TOKENS["01"]).status_code == 403
    assert sonet.post_graphql("{ items { edges { cursor } } }", company="01", token=TOKENS["02"]).status_code == 403

    assert sonet.send(B2B_ORDER, company="01").status_code == 201
    in_second = sonet.send(B2B_ORDER, company="02")
    assert in_second.status_code == 201  # the same MessageId is new in another company
    assert message_answer(in_second)["SonetOrderNumber"].startswith("SO-02-")
    assert len(sonet.admin_json("GET", "/companies/02/orders")) == 1
    assert sonet.admin_json("GET", "/companies/01/counters")["responses"]["message"] == {"201": 1}
    assert message_error(sonet.send(b"<x/>", company="02"))["Code"] == "SCHEMA"
