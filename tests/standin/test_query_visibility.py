"""What the Query API shows over time: visibility lag, deletions, accepted orders, mixed offsets."""

from __future__ import annotations

from datetime import timedelta

from tests.standin.standin_http import B2B_ORDER, SonetClient, parse_instant

SALES_ORDER = (
    "query($id: ID!) { salesOrder(messageId: $id) { messageId sonetOrderNumber webOrderNumber "
    "customerNumber orderStatus dateModified } }"
)
B2B_MESSAGE_ID = "0b6f2f7e-5d1c-4c55-9a57-3f1b1c9a0e21"


def _item(sonet: SonetClient, code: str, fields: str = "itemCode listPrice status dateModified") -> dict | None:
    for node in sonet.read_all("items", fields):
        if node["itemCode"] == code:
            return node
    return None


def test_a_back_dated_change_is_invisible_until_its_delay_has_passed(sonet: SonetClient):
    """A change committed late keeps its dateModified but shows only `delay` after it: before that, queries
    (and a filter from its stamp) see the previous version; after the ManualClock moves on, the new one."""
    code = sonet.state("items")[0]["itemCode"]
    before = _item(sonet, code)
    written = sonet.change("items", [{"itemCode": code, "listPrice": "123.45"}], delay_seconds=60)
    stamp = parse_instant(written["versions"][0]["dateModified"])
    assert parse_instant(written["versions"][0]["visibleAt"]) == stamp + timedelta(seconds=60)

    sonet.advance(59.999)
    assert _item(sonet, code) == before
    assert sonet.page("items", "itemCode", modifiedFrom=stamp.isoformat())["edges"] == []
    assert code not in {r["itemCode"] for r in sonet.state("items", visible_only=True) if r["listPrice"] == "123.45"}

    sonet.advance(0.001)
    after = _item(sonet, code)
    assert after["listPrice"] == "123.45" and parse_instant(after["dateModified"]) == stamp
    assert [
        e["node"]["itemCode"] for e in sonet.page("items", "itemCode", modifiedFrom=stamp.isoformat())["edges"]
    ] == [code]


def test_a_deletion_stays_visible_as_deleted_with_a_new_stamp(sonet: SonetClient):
    """Nothing is physically deleted: a deleted record is still listed, `status: DELETED`, newer dateModified."""
    record = sonet.state("items")[3]
    sonet.clock.advance(5)
    sonet.admin_json("POST", "/companies/01/changes", json={"entity": "items", "delete": [record["itemCode"]]})
    node = _item(sonet, record["itemCode"])
    assert node["status"] == "DELETED"
    assert parse_instant(node["dateModified"]) == sonet.clock.now() > parse_instant(record["dateModified"])
    assert len(sonet.read_all("items", "itemCode")) == 300


def test_an_accepted_order_shows_in_the_query_api_after_the_visibility_lag(start_standin):
    """An accepted order becomes a SalesOrder (RECEIVED, its web order and customer numbers) that, like every
    change, may become visible only up to `lag_seconds` later: `null` until then, never lost."""
    sonet = start_standin(late_share=1.0, lag_seconds=90)
    assert sonet.send(B2B_ORDER).status_code == 201
    assert sonet.graphql(SALES_ORDER, {"id": B2B_MESSAGE_ID})["data"]["salesOrder"] is None
    sonet.advance(90.001)
    order = sonet.graphql(SALES_ORDER, {"id": B2B_MESSAGE_ID})["data"]["salesOrder"]
    assert order["sonetOrderNumber"] == "SO-01-0000001" and order["orderStatus"] == "RECEIVED"
    assert (order["webOrderNumber"], order["customerNumber"]) == ("WEB-100234", "C10042")
    listed = sonet.read_all("salesOrders", "messageId orderStatus")
    assert listed == [{"messageId": B2B_MESSAGE_ID, "orderStatus": "RECEIVED"}]


def test_an_unknown_message_id_is_null(sonet: SonetClient):
    """`salesOrder` of a MessageId never accepted is null, not an error."""
    answer = sonet.graphql(SALES_ORDER, {"id": "no-such-message-1"})
    assert answer == {"data": {"salesOrder": None}}


def test_mixed_offsets_answer_the_same_instants(start_standin):
    """With `mixed_offsets`, some DateTimes come as +02:00 and others as Z, always the same instant as held."""
    sonet = start_standin(mixed_offsets=True)
    nodes = sonet.read_all("items", "itemCode dateModified")
    offsets = {node["dateModified"][-6:] == "+02:00" for node in nodes}
    assert offsets == {True, False}
    assert all(n["dateModified"].endswith(("Z", "+02:00")) for n in nodes)
    held = {r["itemCode"]: parse_instant(r["dateModified"]) for r in sonet.state("items")}
    assert all(parse_instant(n["dateModified"]) == held[n["itemCode"]] for n in nodes)
    instants = [parse_instant(n["dateModified"]) for n in nodes]
    assert instants == sorted(instants)
