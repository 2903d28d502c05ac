"""Every move of the state machine on a real store: allowed ones do what the table says, refused ones
raise `OutboxError` and change nothing, and every move is recorded with its actor."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sonet_pipeline.outbox import (
    FAILED,
    PENDING,
    SENDING,
    SENT,
    Move,
    Outbox,
    OutboxError,
    Selection,
    UnknownMessage,
)
from sonet_pipeline.outbox.model import TRANSITIONS
from tests.outbox.helpers import TENANT, at, failed, order, pending, sending, sent, state_of

LATER = at(100)

#: Each move as an operator or a sender makes it, on message `m` of tenant `t`.
MOVES: dict[Move, Callable[[Outbox, str, str], object]] = {
    Move.SENT: lambda box, m, t: box.mark_sent(m, sonet_order_number="SO-9", duplicate=False, actor="run-2", now=LATER),
    Move.RETRY: lambda box, m, t: box.mark_retry(
        m, next_attempt_at=at(160), code="HTTP_503", message="maintenance", actor="run-2", now=LATER
    ),
    Move.FAIL: lambda box, m, t: box.mark_failed(m, code="SCHEMA", message="bad", field=None, actor="run-2", now=LATER),
    Move.FAIL_BUILD: lambda box, m, t: box.mark_failed(
        m, code="UNMAPPABLE", message="quantity 0", field="lines[0].quantity", actor="run-2", now=LATER
    ),
    Move.RELEASE: lambda box, m, t: box.release(m, actor="run-2", now=LATER),
    Move.RESEND: lambda box, m, t: box.resend(Selection.ids(m), actor="outbox resend", now=LATER),
    Move.CORRECT: lambda box, m, t: box.correct(m, order(t, comment="fixed"), actor="outbox correct", now=LATER),
    Move.SETTLE: lambda box, m, t: box.settle(m, sonet_order_number="SO-9", actor="outbox reconcile", now=LATER),
    Move.BUILT: lambda box, m, t: box.record_built(m, b"<y/>", now=LATER),
}
MAKE = {
    PENDING: pending,
    SENDING: lambda box, number, tenant: sending(box, number, tenant=tenant, xml=None),
    SENT: lambda box, number, tenant: sent(box, number, tenant=tenant),
    FAILED: lambda box, number, tenant: failed(box, number, tenant=tenant),
}


def test_every_move_from_every_state_follows_the_table(outbox):
    """For each (state, move): allowed by `TRANSITIONS` -> the documented target state and one more
    event by the move's actor; refused -> OutboxError naming message, state and move, nothing changed."""
    for state, make in MAKE.items():
        for move, make_move in MOVES.items():
            tenant = f"{state}-{move}"  # one message per tenant, so each case claims only its own
            message_id = make(outbox, tenant, tenant=tenant)
            before, events = state_of(outbox, message_id), outbox.events(message_id)
            sources, target = TRANSITIONS[move]
            if state in sources:
                make_move(outbox, message_id, tenant)
                assert state_of(outbox, message_id).state == (target or state), (state, move)
                if move != Move.BUILT:
                    assert outbox.events(message_id)[-1].from_state == state
            else:
                with pytest.raises(OutboxError) as refused:
                    make_move(outbox, message_id, tenant)
                assert all(part in str(refused.value) for part in (message_id, str(state), str(move))), refused.value
                assert state_of(outbox, message_id) == before, (state, move)
                assert outbox.events(message_id) == events


def test_a_lifecycle_is_recorded_move_by_move_with_its_actors(outbox):
    """enqueue, claim, 503, claim, 400, correct, claim, accepted: eight events, each with who and why."""
    message_id = pending(outbox)
    outbox.claim(TENANT, now=at(1), limit=5, owner="run-1", claim_seconds=60)
    outbox.mark_retry(
        message_id, next_attempt_at=at(30), code="HTTP_503", message="maintenance", actor="run-1", now=at(2)
    )
    assert outbox.claim(TENANT, now=at(29), limit=5, owner="run-2", claim_seconds=60) == []
    outbox.claim(TENANT, now=at(30), limit=5, owner="run-2", claim_seconds=60)
    outbox.mark_failed(
        message_id,
        code="UNKNOWN_ITEM",
        message="no such item",
        field="Lines/Line[1]/ItemCode",
        actor="run-2",
        now=at(31),
    )
    outbox.correct(message_id, order(comment="sku fixed"), actor="outbox correct", now=at(40))
    outbox.claim(TENANT, now=at(41), limit=5, owner="run-3", claim_seconds=60)
    outbox.mark_sent(message_id, sonet_order_number="SO-77", duplicate=False, actor="run-3", now=at(42))
    moves = [(e.from_state, e.to_state, e.actor) for e in outbox.events(message_id)]
    assert moves == [
        (None, PENDING, "intake"),
        (PENDING, SENDING, "run-1"),
        (SENDING, PENDING, "run-1"),
        (PENDING, SENDING, "run-2"),
        (SENDING, FAILED, "run-2"),
        (FAILED, PENDING, "outbox correct"),
        (PENDING, SENDING, "run-3"),
        (SENDING, SENT, "run-3"),
    ]
    events = outbox.events(message_id)
    assert "HTTP_503" in events[2].reason and "UNKNOWN_ITEM" in events[4].reason and "SO-77" in events[7].reason
    assert [e.at for e in events] == [at(0), at(1), at(2), at(30), at(31), at(40), at(41), at(42)]
    message = state_of(outbox, message_id)
    assert (message.state, message.attempts, message.sonet_order_number, message.sent_at) == (SENT, 3, "SO-77", at(42))
    assert message.error is None and message.claimed_by is None


def test_retry_keeps_the_error_and_delays_the_message(outbox):
    """A transient answer: pending, due at next_attempt_at, the error shown; the claim is let go."""
    message_id = sending(outbox)
    outbox.mark_retry(
        message_id, next_attempt_at=at(90), code="HTTP_429", message="throttled", actor="run-1", now=at(2)
    )
    message = state_of(outbox, message_id)
    assert (message.state, message.next_attempt_at, message.claimed_by) == (PENDING, at(90), None)
    assert (message.error.code, message.error.message) == ("HTTP_429", "throttled")
    assert message.xml == b"<x/>" and message.first_attempt_at == at(1), "same bytes; the retry window runs on"


def test_correct_keeps_every_version_and_clears_the_bytes(outbox):
    """`correct` adds a version (earlier ones kept), clears the XML so it is rebuilt under the same
    MessageId, starts a new retry window; the orderNumber cannot change."""
    message_id = failed(outbox)
    with pytest.raises(OutboxError, match="orderNumber cannot change"):
        outbox.correct(message_id, order("WEB-2"), actor="outbox correct", now=at(10))
    corrected = outbox.correct(message_id, order(comment="v2"), actor="outbox correct", now=at(10))
    outbox.claim(TENANT, now=at(11), limit=1, owner="run-2", claim_seconds=60)
    outbox.mark_failed(message_id, code="SCHEMA", message="still bad", actor="run-2", now=at(12))
    outbox.correct(message_id, order(comment="v3"), actor="outbox correct", now=at(13))
    assert outbox.versions(message_id) == [order(), order(comment="v2"), order(comment="v3")]
    assert (corrected.message_id, corrected.version, corrected.xml, corrected.error) == (message_id, 2, None, None)
    assert (corrected.state, corrected.next_attempt_at, corrected.first_attempt_at) == (PENDING, at(10), None)
    message = state_of(outbox, message_id)
    assert (message.version, message.order) == (3, order(comment="v3"))


def test_a_sent_message_can_never_be_changed_or_resent(outbox):
    """`sent` refuses resend, correct, retry, failure and release; a repeated acceptance with the same
    Sonet order number changes nothing, with another number it is refused."""
    message_id = sent(outbox, sonet_order_number="SO-1")
    before = state_of(outbox, message_id)
    outbox.mark_sent(message_id, sonet_order_number="SO-1", duplicate=True, actor="run-late", now=at(50))
    outbox.settle(message_id, sonet_order_number="SO-1", actor="outbox reconcile", now=at(50))
    with pytest.raises(OutboxError, match="sent already as Sonet order SO-1"):
        outbox.mark_sent(message_id, sonet_order_number="SO-2", duplicate=True, actor="run-late", now=at(50))
    with pytest.raises(OutboxError, match="never changed or resent"):
        outbox.resend(Selection.ids(message_id), actor="outbox resend", now=at(50))
    with pytest.raises(OutboxError, match="never changed or resent"):
        outbox.correct(message_id, order(comment="late"), actor="outbox correct", now=at(50))
    assert state_of(outbox, message_id) == before and len(outbox.events(message_id)) == 3


def test_bytes_are_kept_as_built(outbox):
    """`record_built` stores the XML once; the same bytes again are fine, other bytes are refused;
    `resend` keeps the bytes."""
    message_id = sending(outbox, xml=b"<SalesOrder>1</SalesOrder>")
    outbox.record_built(message_id, b"<SalesOrder>1</SalesOrder>", now=at(2))
    with pytest.raises(OutboxError, match="never rebuilt"):
        outbox.record_built(message_id, b"<SalesOrder>2</SalesOrder>", now=at(2))
    outbox.mark_failed(message_id, code="UNKNOWN_CUSTOMER", message="gone", actor="run-1", now=at(3))
    assert outbox.resend(Selection.ids(message_id), actor="outbox resend", now=at(4)) == [message_id]
    assert state_of(outbox, message_id).xml == b"<SalesOrder>1</SalesOrder>"


def test_a_sender_only_moves_messages_it_holds(outbox):
    """A move naming an owner is refused when another run holds the claim."""
    message_id = sending(outbox, owner="run-1")
    with pytest.raises(OutboxError, match="claimed by run-1, not by run-2"):
        outbox.mark_sent(
            message_id, sonet_order_number="SO-1", duplicate=False, actor="run-2", now=at(2), owner="run-2"
        )
    outbox.mark_sent(message_id, sonet_order_number="SO-1", duplicate=False, actor="run-1", now=at(2), owner="run-1")
    assert state_of(outbox, message_id).state == SENT


def test_release_does_not_count_the_attempt(outbox):
    """A run stopped before sending (401/403) puts its claims back, attempts and retry window as before."""
    message_id = sending(outbox)
    outbox.release(message_id, actor="run-1", now=at(2), reason="401 from Sonet: stopped before sending")
    message = state_of(outbox, message_id)
    assert (message.state, message.attempts, message.first_attempt_at, message.claimed_by) == (PENDING, 0, None, None)
    assert outbox.events(message_id)[-1].reason == "401 from Sonet: stopped before sending"


def test_build_failures_may_fail_a_pending_message(outbox):
    """UNMAPPABLE / TOO_LARGE may fail a message straight from pending (the intake judged it);
    a Sonet code may not: those come only as answers to a send."""
    message_id = pending(outbox)
    with pytest.raises(OutboxError, match="only from sending"):
        outbox.mark_failed(message_id, code="SCHEMA", message="x", actor="intake", now=at(1))
    outbox.mark_failed(
        message_id, code="UNMAPPABLE", message="quantity is 0", field="lines[0].quantity", actor="intake", now=at(1)
    )
    error = state_of(outbox, message_id).error
    assert error is not None and (error.code, error.field) == ("UNMAPPABLE", "lines[0].quantity")


def test_resend_selects_by_ids_order_numbers_or_code_all_or_nothing(outbox):
    """Resend by ids, by order numbers, or every failed message of a code (in a tenant); a selection
    with a message that is not failed moves none."""
    a, b = failed(outbox, "WEB-A", code="UNKNOWN_ITEM"), failed(outbox, "WEB-B", code="UNKNOWN_ITEM")
    c, other = failed(outbox, "WEB-C", code="SCHEMA"), failed(outbox, "WEB-A", tenant="nordic", code="UNKNOWN_ITEM")
    waiting = pending(outbox, "WEB-D")
    with pytest.raises(OutboxError, match=f"message {waiting} is pending: resend refused"):
        outbox.resend(Selection.ids(a, waiting), actor="outbox resend", now=at(5))
    assert state_of(outbox, a).state == FAILED
    with pytest.raises(UnknownMessage, match="nope"):
        outbox.resend(Selection.ids("nope"), actor="outbox resend", now=at(5))
    assert outbox.resend(Selection.failed_with("UNKNOWN_ITEM", TENANT), actor="outbox resend", now=at(5)) == [a, b]
    assert outbox.resend(Selection.orders(TENANT, "WEB-C"), actor="outbox resend", now=at(5)) == [c]
    assert outbox.resend(Selection.failed_with("UNKNOWN_ITEM"), actor="outbox resend", now=at(5)) == [other]
    assert {state_of(outbox, m).state for m in (a, b, c, other)} == {PENDING}
    assert outbox.resend(Selection.failed_with("UNKNOWN_ITEM"), actor="outbox resend", now=at(6)) == []


def test_unknown_messages_are_named(outbox):
    """Moves on a MessageId the outbox does not have raise UnknownMessage; reads answer None."""
    with pytest.raises(UnknownMessage, match="message m-404 does not exist: mark_sent refused"):
        outbox.mark_sent("m-404", sonet_order_number="SO-1", duplicate=False, actor="run-1", now=at(1))
    assert outbox.get("m-404") is None and outbox.find(TENANT, "WEB-404") is None and outbox.events("m-404") == []
