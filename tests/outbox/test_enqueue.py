"""Enqueue: idempotent by (tenant, orderNumber) and content, conflicts refused, durable on return."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Sequence
from typing import Any

import pytest

from sonet_pipeline.outbox import PENDING, Enqueued, OrderConflict, moves
from tests.outbox.conftest import POSTGRES_DSN, Backend
from tests.outbox.helpers import T0, TENANT, at, failed, order, state_of


def test_a_new_order_becomes_a_pending_message(outbox):
    """A new order is stored as version 1 of a pending message under a new UUID4 MessageId, due at once."""
    result = outbox.enqueue(TENANT, order(), actor="intake", now=T0)
    assert result.created and result.state == PENDING and len(result.message_id) == 36
    message = state_of(outbox, result.message_id)
    assert (message.tenant, message.order_number, message.attempts, message.version) == (TENANT, "WEB-1", 0, 1)
    assert message.order == order() and message.xml is None and message.error is None
    assert message.next_attempt_at == message.created_at == T0
    assert list(message.order["lines"][0]["variant"]) == ["Size", "Colour"], "key order as received"
    assert outbox.find(TENANT, "WEB-1") == message


def test_the_same_order_again_is_the_same_message(outbox):
    """The same content again (keys in any order) answers the existing message with created False."""
    first = outbox.enqueue(TENANT, order(), actor="intake", now=T0)
    again = outbox.enqueue(TENANT, dict(reversed(list(order().items()))), actor="intake", now=at(5))
    assert again == Enqueued(first.message_id, PENDING, False)
    assert len(outbox.list()) == 1 and len(outbox.events(first.message_id)) == 1


def test_other_content_under_the_same_order_number_conflicts(outbox):
    """Other content with a known orderNumber raises OrderConflict naming the existing message; nothing changes."""
    first = outbox.enqueue(TENANT, order(), actor="intake", now=T0)
    with pytest.raises(OrderConflict) as conflict:
        outbox.enqueue(TENANT, order(currency="SEK"), actor="intake", now=at(1))
    assert conflict.value.message_id == first.message_id and conflict.value.order_number == "WEB-1"
    assert state_of(outbox, first.message_id).order == order()


def test_order_numbers_are_per_tenant(outbox):
    """The same orderNumber in two tenants is two messages."""
    a = outbox.enqueue("acme", order(), actor="intake", now=T0)
    b = outbox.enqueue("nordic", order(currency="SEK"), actor="intake", now=T0)
    assert a.created and b.created and a.message_id != b.message_id


def test_enqueue_many_answers_each_order_in_order(outbox):
    """One batch: new orders, a repeat inside the batch, a known order, and a conflict, answered in order."""
    known = outbox.enqueue(TENANT, order("WEB-0"), actor="intake", now=T0)
    batch = [order("WEB-1"), order("WEB-2"), order("WEB-1"), order("WEB-0"), order("WEB-2", currency="SEK")]
    answers = outbox.enqueue_many(TENANT, batch, actor="intake", now=at(1))
    first, second, repeat, old, conflict = answers
    assert first.created and second.created
    assert repeat == Enqueued(first.message_id, PENDING, False)
    assert old == Enqueued(known.message_id, PENDING, False)
    assert isinstance(conflict, OrderConflict) and conflict.message_id == second.message_id
    assert [m.order_number for m in outbox.list()] == ["WEB-0", "WEB-1", "WEB-2"]


def test_enqueue_many_is_one_transaction(outbox):
    """A batch with an order that cannot be stored (no orderNumber) stores none of the batch."""
    with pytest.raises(ValueError, match="orderNumber"):
        outbox.enqueue_many(TENANT, [order("WEB-1"), {"currency": "EUR"}], actor="intake", now=T0)
    assert outbox.list() == [] and outbox.enqueue_many(TENANT, [], actor="intake", now=T0) == []


def test_a_corrected_order_is_still_recognised(outbox):
    """After `correct`, the shop repeating the original or the corrected order gets the same message;
    a third content conflicts."""
    message_id = failed(outbox)
    outbox.correct(message_id, order(comment="fixed"), actor="outbox correct", now=at(10))
    for same in (order(), order(comment="fixed")):
        assert outbox.enqueue(TENANT, same, actor="intake", now=at(11)).message_id == message_id
    with pytest.raises(OrderConflict):
        outbox.enqueue(TENANT, order(comment="third"), actor="intake", now=at(12))


def test_concurrent_enqueues_of_one_order_make_one_message(backend: Backend):
    """Threads (own connections) enqueueing the same new orders at once end with one message per order,
    every thread told the same MessageId."""
    outboxes = [backend.open() for _ in range(4)]
    answers: list[list[str]] = [[] for _ in outboxes]
    start = threading.Barrier(len(outboxes))

    def enqueue(index: int) -> None:
        start.wait()
        for n in range(15):
            answers[index].append(outboxes[index].enqueue(TENANT, order(f"WEB-{n}"), actor="intake", now=T0).message_id)

    threads = [threading.Thread(target=enqueue, args=(i,)) for i in range(len(outboxes))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(ids == answers[0] for ids in answers) and len(set(answers[0])) == 15
    assert len(outboxes[0].list()) == 15


def test_an_enqueued_order_survives_a_sigkill_right_after_enqueue(backend: Backend):
    """A child that enqueues and is SIGKILLed the moment `enqueue` returned leaves the order stored."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import time
            from datetime import UTC, datetime
            from sonet_pipeline.outbox import open_outbox
            from tests.outbox.helpers import order
            outbox = open_outbox({backend.target!r}, schema={backend.schema!r})
            result = outbox.enqueue("acme", order("WEB-KILLED"), actor="intake", now=datetime.now(UTC))
            print(result.message_id, flush=True)
            time.sleep(600)
            """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    message_id = child.stdout.readline().strip()
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    message = state_of(backend.open(), message_id)
    assert (message.state, message.order) == (PENDING, order("WEB-KILLED"))


def test_naive_instants_are_refused(outbox):
    """Every instant needs an offset: a naive `now` is refused before anything is stored."""
    with pytest.raises(ValueError, match="naive"):
        outbox.enqueue(TENANT, order(), actor="intake", now=T0.replace(tzinfo=None))
    assert outbox.list() == []


def stored(backend: Backend, query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows as the backend holds them, read past the outbox (`?` placeholders)."""
    if backend.name == "sqlite":
        with contextlib.closing(sqlite3.connect(backend.target)) as connection:
            return connection.execute(query, params).fetchall()
    import psycopg

    with psycopg.connect(POSTGRES_DSN, options=f"-c search_path={backend.schema}") as connection:
        return connection.execute(query.replace("?", "%s"), params).fetchall()


def test_the_stored_rows_hold_the_order_as_received_its_canonical_hash_and_one_instant(backend: Backend):
    """Each new order's version row is its JSON as received (keys in the order given, no escapes of
    non-ASCII) with the SHA-256 of its canonical JSON (sorted keys); the message, version and event rows
    carry `now`; the MessageId is a UUID4."""
    outbox = backend.open()
    batch = [order("WEB-1"), dict(reversed(list(order("WEB-Ä", comment="Työmaa ✓").items())))]
    answers = outbox.enqueue_many(TENANT, batch, actor="intake", now=at(1.5))
    expected_instant = "2026-11-28T04:00:01.500000Z" if backend.name == "sqlite" else at(1.5)
    for answer, sent in zip(answers, batch, strict=True):
        assert isinstance(answer, Enqueued) and answer.created
        assert str(uuid.UUID(answer.message_id)) == answer.message_id
        assert uuid.UUID(answer.message_id).version == 4
        query = "SELECT order_json, order_hash FROM order_versions WHERE message_id = ?"
        ((text, digest),) = stored(backend, query, (answer.message_id,))
        assert text == json.dumps(sent, ensure_ascii=False, separators=(",", ":"))
        canonical = json.dumps(sent, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        assert digest == hashlib.sha256(canonical.encode()).hexdigest()
        query = (
            "SELECT m.created_at, m.updated_at, m.next_attempt_at, v.created_at, e.at, e.from_state, e.to_state, "
            "e.actor, e.reason FROM messages m JOIN order_versions v ON v.message_id = m.message_id "
            "JOIN events e ON e.message_id = m.message_id WHERE m.message_id = ?"
        )
        ((*instants, from_state, to_state, actor, reason),) = stored(backend, query, (answer.message_id,))
        assert instants == [expected_instant] * 5
        assert (from_state, to_state, actor, reason) == (None, "pending", "intake", "enqueued")


def test_a_large_batch_finds_every_known_order(outbox):
    """A batch of more orders than one lookup takes (SQLite looks 512 up at a time) finds each known one."""
    known = outbox.enqueue_many(TENANT, [order(f"WEB-{n}") for n in range(0, 1100, 2)], actor="intake", now=T0)
    answers = outbox.enqueue_many(TENANT, [order(f"WEB-{n}") for n in range(1100)], actor="intake", now=at(1))
    assert [answer.created for answer in answers] == [n % 2 == 1 for n in range(1100)]
    assert [answer.message_id for answer in answers[::2]] == [answer.message_id for answer in known]
    assert len(outbox.list()) == 1100


class _Late:
    """A transaction that finds no known order: as if another writer stored them just after its look."""

    def __init__(self, tx: Any) -> None:
        self._tx = tx

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)

    def all_in(self, sql: str, params: Sequence[Any], values: Sequence[Any]) -> list[tuple[Any, ...]]:
        return []


@pytest.mark.parametrize("others", [0, 1, 2])
def test_an_enqueue_that_lost_a_race_answers_the_message_that_won(outbox, monkeypatch, caplog, others):
    """When a new order's insert meets the same order stored meanwhile (unique key), the batch is
    looked at again and answers that message; nothing is logged and the store goes on working."""
    won = outbox.enqueue(TENANT, order("WEB-1"), actor="intake", now=T0)
    real, calls = moves.enqueue, []

    def late_once(tx: Any, *args: Any) -> Any:
        calls.append(tx)
        return real(_Late(tx) if len(calls) == 1 else tx, *args)

    monkeypatch.setattr(moves, "enqueue", late_once)
    batch = [order("WEB-1")] + [order(f"WEB-{2 + n}") for n in range(others)]
    with caplog.at_level(logging.WARNING):
        answers = outbox.enqueue_many(TENANT, batch, actor="intake", now=at(1))
    assert len(calls) == 2 and caplog.records == []
    assert answers[0] == Enqueued(won.message_id, PENDING, False) and all(answer.created for answer in answers[1:])
    assert outbox.enqueue(TENANT, order("WEB-9"), actor="intake", now=at(2)).created
    assert [m.order_number for m in outbox.list()] == [f"WEB-{n}" for n in [1, *range(2, 2 + others), 9]]


def test_enqueue_many_stores_an_order_with_an_error_failed_in_the_same_transaction(outbox):
    """`failures`: a new order with an error is `failed` with it at once (the intake's NOT_ALLOWED kept
    for an operator): never claimable; the same order again is that message; others stay pending."""
    error = {"code": "NOT_ALLOWED", "message": "login may not order (rule 'viewers')", "field": "customer.contactId"}
    kept, fine = outbox.enqueue_many(
        TENANT, [order("WEB-1"), order("WEB-2")], actor="intake", now=T0, failures=[error, None]
    )
    assert (kept.state, kept.created, fine.state) == ("failed", True, PENDING)
    message = state_of(outbox, kept.message_id)
    assert message.state == "failed" and message.error is not None
    assert (message.error.code, message.error.field) == ("NOT_ALLOWED", "customer.contactId")
    assert [e.reason for e in outbox.events(kept.message_id)][-1].startswith("NOT_ALLOWED: login may not order")
    assert [m.message_id for m in outbox.claim(TENANT, now=at(1), limit=10, owner="run", claim_seconds=10)] == [
        fine.message_id
    ]
    [again] = outbox.enqueue_many(TENANT, [order("WEB-1")], actor="intake", now=at(2), failures=[error])
    assert (again.message_id, again.state, again.created) == (kept.message_id, "failed", False)
    with pytest.raises(ValueError, match="1 failures for 2 orders"):
        outbox.enqueue_many(TENANT, [order("WEB-3"), order("WEB-4")], actor="intake", now=T0, failures=[None])
