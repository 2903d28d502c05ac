"""Claims: due messages, oldest first, to exactly one claimer; a dead run's claims come back with their bytes."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter

import pytest

from sonet_pipeline.outbox import FAILED, PENDING, SENDING, SENT, OutboxError
from tests.outbox.conftest import Backend
from tests.outbox.helpers import T0, TENANT, at, failed, order, pending, sent, state_of


def _ids(messages) -> list[str]:
    return [m.message_id for m in messages]


def test_claims_take_due_messages_oldest_first(outbox):
    """Pending messages whose time has come, oldest first, up to the limit, of the one tenant asked;
    a message in backoff waits until its next_attempt_at."""
    first, second, third = (pending(outbox, f"WEB-{n}", now=at(n)) for n in (1, 2, 3))
    pending(outbox, "WEB-1", tenant="nordic", now=at(0))
    assert outbox.claim(TENANT, now=at(0.5), limit=10, owner="run-0", claim_seconds=60) == []
    claimed = outbox.claim(TENANT, now=at(3), limit=2, owner="run-1", claim_seconds=600)
    assert _ids(claimed) == [first, second]
    assert {(m.state, m.attempts, m.claimed_by, m.claim_expires_at) for m in claimed} == {
        (SENDING, 1, "run-1", at(603))
    }
    assert claimed[0] == state_of(outbox, first), "what claim returns is what is stored"
    outbox.mark_retry(first, next_attempt_at=at(100), code="HTTP_503", message="later", actor="run-1", now=at(4))
    assert _ids(outbox.claim(TENANT, now=at(99), limit=10, owner="run-2", claim_seconds=600)) == [third]
    assert _ids(outbox.claim(TENANT, now=at(100), limit=10, owner="run-3", claim_seconds=600)) == [first]
    assert outbox.claim(TENANT, now=at(100), limit=0, owner="run-3", claim_seconds=600) == []


def test_a_batch_is_claimed_in_the_order_it_arrived(outbox):
    """Orders enqueued in one batch (one instant) are claimed in the batch's order."""
    outbox.enqueue_many(TENANT, [order(f"WEB-{n}") for n in (5, 3, 9, 1)], actor="intake", now=T0)
    claimed = outbox.claim(TENANT, now=at(1), limit=10, owner="run-1", claim_seconds=60)
    assert [m.order_number for m in claimed] == ["WEB-5", "WEB-3", "WEB-9", "WEB-1"]


def test_an_expired_claim_is_claimed_again_with_the_same_bytes(outbox):
    """A message left in `sending` (a killed run, a lost answer) is claimable again once its claim
    expires, not before; it keeps its bytes and attempt count; the old owner can no longer move it."""
    message_id = pending(outbox)
    outbox.claim(TENANT, now=at(1), limit=1, owner="run-1", claim_seconds=60)
    outbox.record_built(message_id, b"<SalesOrder>as built</SalesOrder>", now=at(1), owner="run-1")
    assert outbox.claim(TENANT, now=at(60.9), limit=1, owner="run-2", claim_seconds=60) == []
    assert outbox.due_tenants(at(60.9)) == [] and outbox.due_tenants(at(61)) == [TENANT]
    (again,) = outbox.claim(TENANT, now=at(61), limit=1, owner="run-2", claim_seconds=60)
    assert (again.message_id, again.xml, again.attempts, again.claimed_by) == (
        message_id,
        b"<SalesOrder>as built</SalesOrder>",
        2,
        "run-2",
    )
    assert again.first_attempt_at == at(1), "the retry window started with the first attempt"
    event = outbox.events(message_id)[-1]
    assert (event.from_state, event.to_state, event.actor) == (SENDING, SENDING, "run-2")
    assert "claim of run-1 expired" in event.reason
    with pytest.raises(OutboxError, match="claimed by run-2, not by run-1"):
        outbox.mark_retry(
            message_id, next_attempt_at=at(99), code="HTTP_500", message="x", actor="run-1", now=at(62), owner="run-1"
        )


def test_a_killed_sender_leaves_its_message_for_the_next_run(backend: Backend):
    """A send run SIGKILLed after claiming and building: its message stays `sending` with its bytes, and
    the next run resends those bytes once the claim expires."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import time
            from sonet_pipeline.outbox import open_outbox
            from tests.outbox.helpers import at, order
            outbox = open_outbox({backend.target!r}, schema={backend.schema!r})
            outbox.enqueue("acme", order(), actor="intake", now=at(0))
            (message,) = outbox.claim("acme", now=at(1), limit=1, owner="run-killed", claim_seconds=60)
            outbox.record_built(message.message_id, b"<SalesOrder>kept</SalesOrder>", now=at(1))
            print(message.message_id, flush=True)
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
    outbox = backend.open()
    assert state_of(outbox, message_id).state == SENDING
    (resent,) = outbox.claim(TENANT, now=at(61), limit=5, owner="run-next", claim_seconds=60)
    assert (resent.message_id, resent.xml) == (message_id, b"<SalesOrder>kept</SalesOrder>")


def _claim_all(outbox, owner: str, got: list[str], start: threading.Barrier | None = None) -> None:
    """Claim until nothing is left, pausing a little after each claim as a sender does to send."""
    if start:
        start.wait()
    while claimed := outbox.claim(TENANT, now=at(1), limit=3, owner=owner, claim_seconds=60):
        got.extend(m.message_id for m in claimed)
        time.sleep(0.001)


@pytest.mark.parametrize("connections", ["shared", "own"])
def test_concurrent_claimers_never_get_the_same_message(backend: Backend, connections: str):
    """Four threads claiming at once, through one Outbox or each through its own connections: every
    message is claimed exactly once."""
    outbox = backend.open()
    outbox.enqueue_many(TENANT, [order(f"WEB-{n}") for n in range(120)], actor="intake", now=T0)
    claimers = [outbox if connections == "shared" else backend.open() for _ in range(4)]
    got: list[list[str]] = [[] for _ in claimers]
    start = threading.Barrier(len(claimers))
    threads = [threading.Thread(target=_claim_all, args=(c, f"run-{i}", got[i], start)) for i, c in enumerate(claimers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [message_id for ids in got for message_id in ids]
    assert len(every) == 120 and Counter(every).most_common(1)[0][1] == 1
    assert {m.state for m in outbox.list()} == {SENDING} and all(m.attempts == 1 for m in outbox.list())


def test_claimers_in_separate_processes_never_get_the_same_message(backend: Backend):
    """A child process and this one claim from the same store at once: disjoint claims, none lost."""
    outbox = backend.open()
    outbox.enqueue_many(TENANT, [order(f"WEB-{n}") for n in range(300)], actor="intake", now=T0)
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys
            import time
            from sonet_pipeline.outbox import open_outbox
            from tests.outbox.helpers import at
            outbox = open_outbox({backend.target!r}, schema={backend.schema!r})
            print("ready", flush=True)
            sys.stdin.readline()
            while claimed := outbox.claim("acme", now=at(1), limit=3, owner="child", claim_seconds=60):
                print(*(m.message_id for m in claimed), sep="\\n", flush=True)
                time.sleep(0.001)
            """),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    child.stdin.write("go\n")
    child.stdin.flush()
    mine: list[str] = []
    _claim_all(outbox, "parent", mine)
    theirs = child.communicate(timeout=60)[0].split()
    assert child.returncode == 0
    assert mine and theirs, f"both claimed (parent {len(mine)}, child {len(theirs)})"
    assert not set(mine) & set(theirs) and len(mine) + len(theirs) == 300
    owners = Counter(m.claimed_by for m in outbox.list())
    assert owners == {"parent": len(mine), "child": len(theirs)}


def test_nothing_due_claims_nothing(outbox):
    """An empty outbox, messages waiting for their next attempt, and sent or failed messages (at any
    time) give empty claims and no due tenants."""
    assert outbox.claim(TENANT, now=T0, limit=5, owner="run-1", claim_seconds=60) == []
    message_id = pending(outbox)
    outbox.claim(TENANT, now=at(1), limit=5, owner="run-1", claim_seconds=60)
    outbox.mark_retry(message_id, next_attempt_at=at(500), code="HTTP_429", message="slow", actor="run-1", now=at(2))
    assert outbox.due_tenants(at(499)) == [] and outbox.due_tenants(at(500)) == [TENANT]
    assert state_of(outbox, message_id).state == PENDING
    finished = [sent(outbox, "WEB-S", tenant="done"), failed(outbox, "WEB-F", tenant="done")]
    assert outbox.claim("done", now=at(10_000), limit=5, owner="run-9", claim_seconds=60) == []
    assert "done" not in outbox.due_tenants(at(10_000))
    assert [state_of(outbox, m).state for m in finished] == [SENT, FAILED]


def test_a_live_run_renews_only_the_claims_it_still_holds(outbox):
    """`renew_claims` extends the owner's claims that are still its own: not one another run took after
    it expired, not a settled one, not another owner's; it records no event and moves nothing."""
    kept, taken, settled, other = (pending(outbox, f"WEB-{n}", now=at(0)) for n in (1, 2, 3, 4))
    outbox.claim(TENANT, now=at(1), limit=3, owner="run-1", claim_seconds=10)
    outbox.claim(TENANT, now=at(1), limit=1, owner="run-9", claim_seconds=100)
    assert outbox.renew_claims([kept, taken], owner="run-1", now=at(8), claim_seconds=10) == sorted([kept, taken])
    assert state_of(outbox, kept).claim_expires_at == at(18)
    events_before = len(outbox.events(kept))
    outbox.mark_sent(settled, sonet_order_number="SO-3", duplicate=False, actor="run-1", now=at(9), owner="run-1")
    # run-1 stalls past its claim of `taken` (renewed to 18): run-2 takes it at 18; `kept` it renews in time.
    outbox.renew_claims([kept], owner="run-1", now=at(17), claim_seconds=10)
    assert _ids(outbox.claim(TENANT, now=at(18), limit=10, owner="run-2", claim_seconds=10)) == [taken]
    renewed = outbox.renew_claims([kept, taken, settled, other], owner="run-1", now=at(19), claim_seconds=10)
    assert renewed == [kept]
    assert (state_of(outbox, kept).claim_expires_at, state_of(outbox, kept).updated_at) == (at(29), at(1))
    assert (state_of(outbox, taken).claimed_by, state_of(outbox, taken).claim_expires_at) == ("run-2", at(28))
    assert state_of(outbox, settled).state == SENT and state_of(outbox, settled).claim_expires_at is None
    assert state_of(outbox, other).claim_expires_at == at(101), "another owner's claim is not touched"
    assert len(outbox.events(kept)) == events_before, "a renewal is not a move"
    assert outbox.renew_claims([], owner="run-1", now=at(20), claim_seconds=10) == []


def test_a_lost_answer_stays_sending_and_is_due_again_at_its_retry_time(outbox):
    """`note_unknown`: the message stays `sending` (its outcome is not known) with its error; it is due
    again at the retry time the sender chose, both as its claim's expiry and its next attempt, and any
    run claims it then, not before, with the same bytes."""
    message_id = pending(outbox)
    outbox.claim(TENANT, now=at(1), limit=1, owner="run-1", claim_seconds=10)
    outbox.record_built(message_id, b"<SalesOrder>as built</SalesOrder>", now=at(1), owner="run-1")
    outbox.note_unknown(
        message_id, code="NO_ANSWER", message="no answer", retry_at=at(1.4), actor="run-1", now=at(1.1), owner="run-1"
    )
    message = state_of(outbox, message_id)
    assert (message.state, message.error.code) == (SENDING, "NO_ANSWER")
    assert (message.claim_expires_at, message.next_attempt_at) == (at(1.4), at(1.4))
    assert outbox.claim(TENANT, now=at(1.399), limit=1, owner="run-1", claim_seconds=10) == []
    assert outbox.due_tenants(at(1.4)) == [TENANT]
    (again,) = outbox.claim(TENANT, now=at(1.4), limit=1, owner="run-1", claim_seconds=10)
    assert (again.message_id, again.xml, again.attempts) == (message_id, b"<SalesOrder>as built</SalesOrder>", 2)


def test_a_claimed_batch_is_stored_as_built_in_one_transaction_all_or_none(outbox):
    """`record_built_many` stores each message's bytes; one refused (other bytes than it was built with)
    refuses the lot and stores none."""
    first, second, third = (pending(outbox, f"WEB-{n}", now=at(0)) for n in (1, 2, 3))
    outbox.claim(TENANT, now=at(1), limit=3, owner="run-1", claim_seconds=10)
    outbox.record_built_many([(first, b"<a/>"), (second, b"<b/>")], now=at(1), owner="run-1")
    assert (state_of(outbox, first).xml, state_of(outbox, second).xml) == (b"<a/>", b"<b/>")
    with pytest.raises(OutboxError, match="built already"):
        outbox.record_built_many([(third, b"<c/>"), (first, b"<other/>")], now=at(2), owner="run-1")
    assert state_of(outbox, third).xml is None and state_of(outbox, first).xml == b"<a/>"
    with pytest.raises(OutboxError, match="not by run-2"):
        outbox.record_built_many([(third, b"<c/>")], now=at(2), owner="run-2")
    outbox.record_built_many([], now=at(2), owner="run-1")
