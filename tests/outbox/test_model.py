"""The state machine's table, the JSON shapes and the order identity, without a store."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from sonet_pipeline.outbox.model import (
    FAILED,
    PENDING,
    SENDING,
    SENT,
    TRANSITIONS,
    ErrorInfo,
    Message,
    Move,
    OutboxError,
    Selection,
    State,
    UnknownMessage,
    check_move,
    order_hash,
    to_json,
)
from tests.outbox.helpers import T0, at, order


def test_sent_is_final_and_every_state_is_reachable():
    """No move leaves `sent`; every state is the target of some move; only `enqueue` starts from nothing."""
    assert all(SENT not in sources for sources, _ in TRANSITIONS.values())
    assert {target for _, target in TRANSITIONS.values() if target} == set(State)
    assert [move for move, (sources, _) in TRANSITIONS.items() if not sources] == [Move.ENQUEUE]


@pytest.mark.parametrize(
    ("state", "move", "target"),
    [
        (PENDING, Move.CLAIM, SENDING),
        (SENDING, Move.RECLAIM, SENDING),
        (SENDING, Move.SENT, SENT),
        (SENDING, Move.RETRY, PENDING),
        (SENDING, Move.FAIL, FAILED),
        (PENDING, Move.FAIL_BUILD, FAILED),
        (SENDING, Move.RELEASE, PENDING),
        (FAILED, Move.RESEND, PENDING),
        (FAILED, Move.CORRECT, PENDING),
        (FAILED, Move.SETTLE, SENT),
        (PENDING, Move.BUILT, PENDING),
    ],
)
def test_allowed_moves_lead_where_documented(state, move, target):
    """`check_move` gives the documented target state of each allowed move."""
    assert check_move("m-1", state, move) == target


@pytest.mark.parametrize(
    ("state", "move"),
    [(SENT, Move.RESEND), (SENT, Move.CORRECT), (PENDING, Move.FAIL), (PENDING, Move.SENT), (FAILED, Move.RETRY)],
)
def test_refused_moves_name_message_state_and_move(state, move):
    """A refused move raises `OutboxError` whose text names the message, its state and the move."""
    with pytest.raises(OutboxError) as refused:
        check_move("m-1", state, move)
    assert ("m-1", str(state), str(move)) == (refused.value.message_id, refused.value.state, refused.value.move)
    assert all(part in str(refused.value) for part in ("m-1", str(state), str(move)))


def test_unknown_message_is_an_outbox_error():
    """A move on a message that does not exist says so."""
    with pytest.raises(UnknownMessage, match="m-9 does not exist"):
        check_move("m-9", None, Move.RESEND)


def test_order_identity_ignores_key_order_but_not_values():
    """Same content, keys in any order, is the same order; `59.9` and `59.90` are different content."""
    reordered = dict(reversed(list(order().items())))
    assert order_hash(reordered) == order_hash(order())
    assert order_hash(order(currency="SEK")) != order_hash(order())
    priced = order()
    priced["lines"][0]["unitPrice"] = "4.150"
    assert order_hash(priced) != order_hash(order())


def test_selection_takes_exactly_one_kind():
    """`resend` selects by ids, by a tenant's order numbers, or by an error code: one at a time."""
    assert Selection.ids("a", "b").message_ids == ("a", "b")
    assert Selection.failed_with("SCHEMA").code == "SCHEMA"
    with pytest.raises(ValueError, match="exactly one"):
        Selection(message_ids=("a",), code="SCHEMA")
    with pytest.raises(ValueError, match="exactly one"):
        Selection()
    with pytest.raises(ValueError, match="tenant"):
        Selection(order_numbers=("WEB-1",))


def _message(**changes) -> Message:
    fields = dict(
        message_id="3f1c0a9e-0000-4000-8000-000000000001",
        tenant="acme",
        order_number="WEB-1",
        state=FAILED,
        attempts=2,
        next_attempt_at=T0,
        created_at=T0,
        updated_at=at(1.5),
        sent_at=None,
        error=ErrorInfo("UNKNOWN_ITEM", "no such item", "Lines/Line[1]/ItemCode"),
        sonet_order_number=None,
        version=1,
        order=order(),
        order_hash=order_hash(order()),
        xml=b"<x/>",
        claimed_by=None,
        claim_expires_at=None,
    )
    return Message(**{**fields, **changes})


def test_to_json_has_the_conventions_shape():
    """`outbox list --json` lines: at least the documented keys, error as {code, message, field} or null,
    timestamps ISO-8601 UTC with `Z`; the document is plain JSON."""
    line = to_json(_message())
    documented = {
        "message_id",
        "tenant",
        "order_number",
        "state",
        "attempts",
        "sonet_order_number",
        "error",
        "created_at",
        "updated_at",
    }
    assert documented <= set(line)
    assert line["state"] == "failed" and line["attempts"] == 2 and line["sonet_order_number"] is None
    assert line["error"] == {"code": "UNKNOWN_ITEM", "message": "no such item", "field": "Lines/Line[1]/ItemCode"}
    assert line["created_at"] == "2026-11-28T04:00:00.000Z" and line["updated_at"] == "2026-11-28T04:00:01.500Z"
    assert datetime.fromisoformat(line["updated_at"]) == at(1.5)
    assert json.loads(json.dumps(line)) == line
    sent_line = to_json(_message(state=SENT, error=None, sonet_order_number="SO-7", sent_at=at(2)))
    assert sent_line["error"] is None and sent_line["sonet_order_number"] == "SO-7"
    assert sent_line["sent_at"] == "2026-11-28T04:00:02.000Z"
