"""`correct` keeps what it replaces: the refused version's SalesOrder XML as sent and the error that
failed it stay readable (`refused_versions`) on both backends, until retention removes the sent message."""

from __future__ import annotations

from datetime import timedelta

from sonet_pipeline.outbox import PENDING, ErrorInfo, Outbox
from tests.outbox.helpers import TENANT, at, failed, order, state_of


def test_correct_keeps_each_refused_versions_xml_and_error(outbox: Outbox) -> None:
    """Two corrections: version 1 (built, refused by Sonet with a code and field) and version 2 (never
    built, UNMAPPABLE) are kept with their XML (or none), error, attempts and times; the message is pending
    with the newest order and no XML, to be rebuilt under the same MessageId."""
    message_id = failed(outbox)
    outbox.correct(message_id, order(comment="v2"), actor="cli: outbox correct (ops)", now=at(10))
    outbox.mark_failed(message_id, code="UNMAPPABLE", message="quantity 0", field="lines[0]", actor="run-2", now=at(11))
    outbox.correct(message_id, order(comment="v3"), actor="cli: outbox correct (ops)", now=at(12))
    first, second = outbox.refused_versions(message_id)
    assert (first.version, first.xml, first.error, first.attempts) == (
        1,
        b"<x/>",
        ErrorInfo("UNKNOWN_ITEM", "no such item", "Lines/Line[1]/ItemCode"),
        1,
    )
    assert (first.failed_at, first.corrected_at, first.actor) == (at(2), at(10), "cli: outbox correct (ops)")
    assert (second.version, second.xml, second.error) == (2, None, ErrorInfo("UNMAPPABLE", "quantity 0", "lines[0]"))
    message = state_of(outbox, message_id)
    assert (message.state, message.version, message.xml, message.order) == (PENDING, 3, None, order(comment="v3"))
    assert outbox.refused_versions("no-such-message") == []


def test_pruning_a_sent_message_removes_its_refused_versions(outbox: Outbox) -> None:
    """A corrected message that was later sent and pruned by retention leaves no refused version behind."""
    message_id = failed(outbox)
    outbox.correct(message_id, order(comment="v2"), actor="cli", now=at(10))
    outbox.claim(TENANT, now=at(11), limit=1, owner="run-2", claim_seconds=60)
    outbox.record_built(message_id, b"<y/>", now=at(11))
    outbox.mark_sent(message_id, sonet_order_number="SO-2", duplicate=False, actor="run-2", now=at(12))
    assert len(outbox.refused_versions(message_id)) == 1
    assert outbox.prune_settled(TENANT, at(13), now=at(13) + timedelta(days=1)) == 1
    assert outbox.refused_versions(message_id) == []
