"""Retention in the outbox: settled orders pruned after their age, nothing else ever, on both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sonet_pipeline.outbox import FAILED, PENDING, SENDING, SENT, OrderConflict, Outbox
from tests.outbox.helpers import T0, TENANT, at, order

DAY = timedelta(days=1)


def sent_on(outbox: Outbox, number: str, day: int, *, tenant: str = TENANT, corrected: bool = False) -> str:
    """A message Sonet accepted on day `day` after T0 (enqueued, claimed and built the same moment);
    with `corrected`, it failed first and went as a corrected second version."""
    now = T0 + day * DAY
    message_id = outbox.enqueue(tenant, order(number), actor="intake", now=now).message_id
    [claimed] = outbox.claim(tenant, now=now, limit=1, owner="run", claim_seconds=60)
    assert claimed.message_id == message_id
    if corrected:
        outbox.mark_failed(message_id, code="UNKNOWN_ITEM", message="no such item", actor="run", now=now)
        outbox.correct(message_id, order(number, paymentMethod="CARD"), actor="cli", now=now)
        outbox.claim(tenant, now=now, limit=1, owner="run", claim_seconds=60)
    outbox.record_built(message_id, b"<SalesOrder/>", now=now)
    outbox.mark_sent(message_id, sonet_order_number=f"SO-{number}", duplicate=False, actor="run", now=now)
    return message_id


def in_state(outbox: Outbox, number: str, state: str, *, tenant: str = TENANT) -> str:
    """A message left in `state` on day 0: pending, sending (claimed) or failed."""
    message_id = outbox.enqueue(tenant, order(number), actor="intake", now=T0).message_id
    if state in (SENDING, FAILED):
        outbox.claim(tenant, now=T0, limit=1, owner="run", claim_seconds=60)
    if state == FAILED:
        outbox.mark_failed(message_id, code="SCHEMA", message="bad", actor="run", now=T0)
    return message_id


def test_only_settled_orders_older_than_the_cutoff_go_with_their_rows(outbox):
    """Messages sent before the cutoff go, with their versions and events; those sent later, and every
    pending, sending or failed message however old, stay as they were."""
    old = [sent_on(outbox, f"OLD-{i}", day=i) for i in range(3)]
    recent = sent_on(outbox, "RECENT", day=50)
    waiting = {state: in_state(outbox, f"STUCK-{state}", state) for state in (SENDING, FAILED, PENDING)}
    now = T0 + 100 * DAY
    assert outbox.prune_settled(TENANT, T0 + 10 * DAY, now=now) == 3
    for message_id in old:
        assert outbox.get(message_id) is None
        assert outbox.events(message_id) == [] and outbox.versions(message_id) == []
    assert outbox.get(recent) is not None and outbox.get(recent).state == SENT
    assert len(outbox.events(recent)) == 3, "enqueued, claimed, sent"
    for state, message_id in waiting.items():
        assert outbox.get(message_id).state == state
    status = outbox.status(now)["tenants"][TENANT]
    assert (status["sent"], status["pending"], status["sending"], status["failed"]) == (1, 1, 1, 1)
    assert outbox.prune_settled(TENANT, T0 + 10 * DAY, now=now) == 0, "a second pass finds nothing"


def test_a_dry_run_counts_the_same_and_changes_nothing(outbox):
    """`dry_run` answers how many would go, and every message is still there afterwards."""
    ids = [sent_on(outbox, f"WEB-{i}", day=i) for i in range(5)]
    in_state(outbox, "STUCK", FAILED)
    cutoff = T0 + 3 * DAY
    assert outbox.prune_settled(TENANT, cutoff, now=at(0), dry_run=True) == 3
    assert all(outbox.get(message_id) is not None for message_id in ids)
    assert outbox.prune_settled(TENANT, cutoff, now=at(0)) == 3


def test_pruning_goes_in_batches_and_keeps_to_its_tenant(outbox):
    """Seven old messages with batches of two: all seven go (four transactions); another tenant's old
    messages are left to its own cutoff."""
    for i in range(7):
        sent_on(outbox, f"WEB-{i}", day=i)
    other = sent_on(outbox, "WEB-0", day=0, tenant="nordic")
    assert outbox.prune_settled(TENANT, T0 + 30 * DAY, now=at(0), batch_size=2) == 7
    assert outbox.list(tenant=TENANT) == []
    assert outbox.get(other) is not None
    assert outbox.tenants() == [TENANT, "nordic"]
    with pytest.raises(ValueError, match="batch_size"):
        outbox.prune_settled(TENANT, T0, now=at(0), batch_size=0)


def test_a_pruned_order_arriving_again_is_still_the_sent_message(outbox):
    """The same order again after its message was pruned is that sent message (not a new one that would
    reach Sonet twice), any of its versions counts as the same, and other content under its number is
    still a conflict."""
    plain = sent_on(outbox, "WEB-1", day=0)
    corrected = sent_on(outbox, "WEB-2", day=0, corrected=True)
    assert outbox.prune_settled(TENANT, T0 + DAY, now=at(0)) == 2
    later = T0 + 200 * DAY
    again = outbox.enqueue(TENANT, order("WEB-1"), actor="intake", now=later)
    assert (again.message_id, again.state, again.created) == (plain, SENT, False)
    for version in (order("WEB-2"), order("WEB-2", paymentMethod="CARD")):
        repeat = outbox.enqueue(TENANT, version, actor="intake", now=later)
        assert (repeat.message_id, repeat.state, repeat.created) == (corrected, SENT, False)
    with pytest.raises(OrderConflict):
        outbox.enqueue(TENANT, order("WEB-1", paymentMethod="CARD"), actor="intake", now=later)
    assert outbox.list(tenant=TENANT) == [], "no new message was made"
    fresh = outbox.enqueue("nordic", order("WEB-1"), actor="intake", now=later)
    assert fresh.created, "another tenant's order with the same number is its own"
