"""`order_statuses`: the buyer's view of each web order, from outbox messages and Sonet's sales orders."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from typing import Any

from sonet_pipeline.outbox.model import FAILED, PENDING, SENDING, SENT, ErrorInfo, Message, State, order_hash
from sonet_pipeline.shop.order_status import order_statuses
from tests.outbox.helpers import T0, at, order

ROW_KEYS = [
    "orderNumber",
    "messageId",
    "customerNumber",
    "status",
    "sonetOrderNumber",
    "sonetOrderStatus",
    "reason",
    "priceMismatches",
    "receivedAt",
    "updatedAt",
]


def message(number: str, state: State, **changes: Any) -> Message:
    """A message of tenant acme for web order `number`, enqueued at T0 and last moved at T0 + 60 s."""
    web_order = changes.pop("order", None) or order(number)
    fields: dict[str, Any] = dict(
        message_id=f"00000000-0000-4000-8000-{int(number.split('-')[1]):012d}",
        tenant="acme",
        order_number=number,
        state=state,
        attempts=0 if state == PENDING else 1,
        next_attempt_at=T0,
        created_at=T0,
        updated_at=at(60),
        sent_at=at(60) if state == SENT else None,
        error=None,
        sonet_order_number="SO-100" if state == SENT else None,
        version=1,
        order=web_order,
        order_hash=order_hash(web_order),
        xml=b"<x/>",
        claimed_by="run-1" if state == SENDING else None,
        claim_expires_at=at(120) if state == SENDING else None,
    )
    return Message(**{**fields, **changes})


def sales_order(of: Message, status: str = "RECEIVED", modified: str = "2026-11-28T05:00:00.000Z", **changes: Any):
    record = {
        "messageId": of.message_id,
        "sonetOrderNumber": "SO-100",
        "webOrderNumber": of.order_number,
        "customerNumber": "C10042",
        "orderStatus": status,
        "dateModified": modified,
    }
    return {**record, **changes}


def only(messages: list[Message], sales_orders: list[dict[str, Any]] = ()) -> dict[str, Any]:
    (row,) = order_statuses(messages, sales_orders)
    return row


def test_pending_and_sending_are_received():
    for state in (PENDING, SENDING):
        row = only([message("WEB-1", state)])
        assert list(row) == ROW_KEYS
        assert row == {
            "orderNumber": "WEB-1",
            "messageId": "00000000-0000-4000-8000-000000000001",
            "customerNumber": "C10042",
            "status": "received",
            "sonetOrderNumber": None,
            "sonetOrderStatus": None,
            "reason": None,
            "priceMismatches": None,
            "receivedAt": "2026-11-28T04:00:00.000Z",
            "updatedAt": "2026-11-28T04:01:00.000Z",
        }


def test_a_transient_error_on_a_pending_message_is_not_a_reason():
    row = only([message("WEB-1", PENDING, error=ErrorInfo("HTTP_503", "maintenance"))])
    assert (row["status"], row["reason"]) == ("received", None)


def test_sent_before_sonet_lists_it_shows_the_outbox_number():
    row = only([message("WEB-1", SENT)])
    assert (row["status"], row["sonetOrderNumber"], row["sonetOrderStatus"]) == ("sent", "SO-100", None)
    assert row["updatedAt"] == "2026-11-28T04:01:00.000Z"


def test_sent_and_listed_by_sonet_shows_its_status_and_the_later_time():
    sent = message("WEB-1", SENT)
    row = only([sent], [sales_order(sent, "CONFIRMED", "2026-11-28T05:00:00.123Z")])
    assert (row["status"], row["sonetOrderNumber"], row["sonetOrderStatus"]) == ("sent", "SO-100", "CONFIRMED")
    assert row["updatedAt"] == "2026-11-28T05:00:00.123Z"


def test_a_sonet_status_change_is_reflected():
    sent = message("WEB-1", SENT)
    before = only([sent], [sales_order(sent, "CONFIRMED", "2026-11-28T05:00:00Z")])
    after = only([sent], [sales_order(sent, "DELIVERED", "2026-11-29T08:30:00+02:00")])
    assert (before["sonetOrderStatus"], after["sonetOrderStatus"]) == ("CONFIRMED", "DELIVERED")
    assert after["updatedAt"] == "2026-11-29T06:30:00.000Z"  # any offset, shown in UTC


def test_an_outbox_move_later_than_sonets_change_is_the_update_time():
    sent = message("WEB-1", SENT, updated_at=T0 + timedelta(hours=3))
    row = only([sent], [sales_order(sent, "CANCELLED", "2026-11-28T05:00:00Z")])
    assert (row["sonetOrderStatus"], row["updatedAt"]) == ("CANCELLED", "2026-11-28T07:00:00.000Z")


def test_failed_names_the_reason():
    error = ErrorInfo("UNKNOWN_ITEM", "no item GLOVE-X", "Lines/Line[1]/ItemCode")
    row = only([message("WEB-1", FAILED, error=error)])
    assert row["status"] == "failed"
    assert row["reason"] == {"code": "UNKNOWN_ITEM", "message": "no item GLOVE-X", "field": "Lines/Line[1]/ItemCode"}
    assert (row["sonetOrderNumber"], row["sonetOrderStatus"]) == (None, None)


def test_failed_without_a_field_has_a_null_field():
    row = only([message("WEB-1", FAILED, error=ErrorInfo("RETRY_EXHAUSTED", "no answer for 24 h"))])
    assert row["reason"] == {"code": "RETRY_EXHAUSTED", "message": "no answer for 24 h", "field": None}


def test_a_lost_answer_is_sent_with_sonets_numbers():
    """The outbox still says sending (the answer was lost), but Sonet lists the MessageId."""
    lost = message("WEB-1", SENDING, error=ErrorInfo("TIMEOUT", "read timed out"))
    row = only([lost], [sales_order(lost, sonetOrderNumber="SO-777")])
    assert (row["status"], row["sonetOrderNumber"], row["sonetOrderStatus"]) == ("sent", "SO-777", "RECEIVED")
    assert row["reason"] is None


def test_failed_but_accepted_by_sonet_is_sent():
    failed = message("WEB-1", FAILED, error=ErrorInfo("RETRY_EXHAUSTED", "gave up"))
    row = only([failed], [sales_order(failed)])
    assert (row["status"], row["reason"], row["sonetOrderNumber"]) == ("sent", None, "SO-100")


def test_sonets_number_wins_over_the_outboxs():
    sent = message("WEB-1", SENT)
    assert only([sent], [sales_order(sent, sonetOrderNumber="SO-200")])["sonetOrderNumber"] == "SO-200"


def test_a_sales_order_matches_by_message_id_only():
    pending = message("WEB-1", PENDING)
    other = sales_order(pending, messageId="00000000-0000-4000-8000-000000000999")
    assert only([pending], [other])["status"] == "received"


def test_a_guest_order_takes_the_customer_number_from_sonet():
    guest = order("WEB-1", customer={"kind": "guest", "name": "Aino", "email": "aino@example.fi"})
    pending = message("WEB-1", PENDING, order=guest)
    assert only([pending])["customerNumber"] is None
    sent = message("WEB-1", SENT, order=guest)
    assert only([sent], [sales_order(sent, customerNumber="GUEST-9")])["customerNumber"] == "GUEST-9"


def test_the_web_orders_customer_number_comes_first():
    sent = message("WEB-1", SENT)
    assert only([sent], [sales_order(sent, customerNumber="C99999")])["customerNumber"] == "C10042"


def test_of_two_records_of_one_message_the_later_modified_counts():
    sent = message("WEB-1", SENT)
    older = sales_order(sent, "CONFIRMED", "2026-11-28T05:00:00Z")
    newer = sales_order(sent, "DELIVERED", "2026-11-28T06:00:00Z")
    assert only([sent], [newer, older])["sonetOrderStatus"] == "DELIVERED"
    assert only([sent], [older, newer])["sonetOrderStatus"] == "DELIVERED"


def test_rows_are_sorted_by_order_number_and_deterministic():
    messages = [
        message("WEB-3", FAILED, error=ErrorInfo("SCHEMA", "bad")),
        message("WEB-1", SENT),
        message("WEB-2", PENDING),
        message("WEB-10", SENDING),
    ]
    sonet = [sales_order(messages[1], "CONFIRMED"), sales_order(messages[3], sonetOrderNumber="SO-101")]
    rows = order_statuses(messages, sonet)
    assert [r["orderNumber"] for r in rows] == ["WEB-1", "WEB-10", "WEB-2", "WEB-3"]
    assert [r["status"] for r in rows] == ["sent", "sent", "received", "failed"]
    text = json.dumps(rows)
    shuffle = random.Random(7)
    for _ in range(5):
        shuffle.shuffle(messages)
        shuffle.shuffle(sonet)
        assert json.dumps(order_statuses(iter(messages), iter(sonet))) == text


def test_sales_orders_of_no_message_are_ignored():
    pending = message("WEB-1", PENDING)
    stranger = sales_order(message("WEB-2", SENT))
    assert [r["orderNumber"] for r in order_statuses([pending], [stranger])] == ["WEB-1"]
    assert order_statuses([], [stranger]) == []


def test_price_mismatches_the_intake_flagged_are_shown_whatever_the_status():
    flags = [{"line": 0, "field": "lines[0].unitPrice", "expected": "54.00", "setBy": "list price"}]
    for state in (PENDING, SENT, FAILED):
        assert only([message("WEB-1", state, price_mismatches=flags)])["priceMismatches"] == flags
