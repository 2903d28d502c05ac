"""The sender's claims and lost answers, on the injectable clock and a scripted Sonet, on both outboxes.

A run holds a few seconds of its rate at a time and renews those claims while it lives; a killed run's
claims come back after CLAIM_SECONDS; a lost answer is resent after the retry policy's backoff (not
when a claim expires), as the same bytes, and Sonet's DUPLICATE settles it.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta

import pytest

from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.orders.sales_order_xml import build_sales_order
from sonet_pipeline.outbound.claims import CLAIM_SECONDS, LOST_WAIT_SECONDS, claim_size
from sonet_pipeline.outbound.sender import Sender
from sonet_pipeline.outbound.settlement import NO_ANSWER
from sonet_pipeline.outbox import SENDING, SENT, Outbox
from sonet_pipeline.sonet.retry import RetryPolicy
from tests.outbound.fakes import LOST, ScriptedSonet
from tests.outbox.helpers import T0, TENANT, order

SEED = 7


def sender(outbox: Outbox, sonet: ScriptedSonet, clock: ManualClock, **options) -> Sender:
    settings = {
        "tenant": TENANT,
        "outbox": outbox,
        "client": sonet,
        "variant_attributes": lambda sku: None,
        "clock": clock,
        "owner": "run-1",
        "retry_window": timedelta(hours=24),
        "in_flight": 2,
        "rate": 5.0,
        "rng": random.Random(SEED),
        **options,
    }
    return Sender(**settings)


def enqueue(outbox: Outbox, count: int, clock: ManualClock) -> list[str]:
    orders = [order(f"WEB-{n}") for n in range(count)]
    return [r.message_id for r in outbox.enqueue_many(TENANT, orders, actor="intake", now=clock.now())]


def until(condition, what: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.01)


def test_claim_size_is_a_few_seconds_of_the_rate_and_at_least_the_max_in_flight():
    assert claim_size(10, 4) == 40
    assert claim_size(200, 8) == 800
    assert claim_size(0.5, 2) == 2
    assert claim_size(0.1, 1) == 1
    with pytest.raises(ValueError, match="positive"):
        claim_size(0, 1)


def test_a_run_never_holds_more_than_twice_its_claim_size(outbox):
    """100 due messages at 5/s and 2 in flight: the run claims 20 at a time, holds at most 40 at once
    (answers it has not settled yet included), sends them all."""
    clock = ManualClock(T0)
    ids = enqueue(outbox, 100, clock)
    held: list[int] = []
    sonet = ScriptedSonet(clock, before_send=lambda _: held.append(len(outbox.list(TENANT, SENDING))))
    report = sender(outbox, sonet, clock).send_due(limit=1000)
    assert (report.claimed, report.sent) == (100, 100)
    assert max(held) <= 2 * claim_size(5.0, 2) == 40 and min(held) >= 1
    assert {outbox.get(mid).state for mid in ids} == {SENT}
    assert sorted(s.message_id for s in sonet.sent) == sorted(ids), "each sent once"


def test_a_live_run_renews_its_claims_so_no_other_run_takes_them(outbox):
    """Held in a slow send far longer than CLAIM_SECONDS, a live run's claims are renewed: another run
    finds nothing to claim; once the send returns, everything is sent once."""
    clock = ManualClock(T0)
    ids = enqueue(outbox, 3, clock)
    entered, go = threading.Event(), threading.Event()

    def hold(message_id: str) -> None:
        entered.set()
        assert go.wait(30)

    sonet = ScriptedSonet(clock, before_send=hold)
    run = sender(outbox, sonet, clock, in_flight=1, rate=1.0, renew_every=0.02)
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("report", run.send_due(limit=100)))
    thread.start()
    try:
        assert entered.wait(10)
        for _ in range(4):  # 4 x 8 s: the claims would have expired three times over
            clock.advance(8)
            expected = clock.now() + timedelta(seconds=CLAIM_SECONDS)
            until(
                lambda e=expected: {outbox.get(mid).claim_expires_at for mid in ids} == {e},
                "the run renews its claims",
            )
            assert outbox.claim(TENANT, now=clock.now(), limit=10, owner="run-2", claim_seconds=10) == []
    finally:
        go.set()
        thread.join(30)
    assert result["report"].sent == 3
    assert {outbox.get(mid).state for mid in ids} == {SENT}
    assert len(sonet.sent) == 3


def test_a_dead_runs_claims_come_back_after_claim_seconds_and_go_as_the_same_bytes(outbox):
    """A run that stopped renewing (killed after sending): CLAIM_SECONDS later the next run resends the
    same bytes under the same MessageId, and Sonet's DUPLICATE settles them."""
    clock = ManualClock(T0)
    ids = enqueue(outbox, 4, clock)
    sonet = ScriptedSonet(clock)
    claimed = outbox.claim(TENANT, now=clock.now(), limit=4, owner="dead run", claim_seconds=CLAIM_SECONDS)
    for message in claimed:
        xml = build_sales_order(message.order, message_id=message.message_id, variant_attributes=lambda s: None).xml
        outbox.record_built(message.message_id, xml, now=clock.now(), owner="dead run")
        sonet.send(xml)  # arrived; the run died before it heard the answer
    first_bytes = {s.message_id: s.xml for s in sonet.sent}

    clock.advance(CLAIM_SECONDS - 0.001)
    assert sender(outbox, sonet, clock, owner="run-2").send_due().claimed == 0, "not before CLAIM_SECONDS"
    clock.advance(0.001)
    report = sender(outbox, sonet, clock, owner="run-3").send_due()
    assert (report.claimed, report.duplicate, report.sent) == (4, 4, 0)
    for mid in ids:
        message = outbox.get(mid)
        assert (message.state, message.sonet_order_number) == (SENT, sonet.orders()[mid])
        assert [s.xml for s in sonet.sends_of(mid)] == [first_bytes[mid]] * 2, "the same bytes again"


def test_a_lost_answer_is_resent_after_the_policys_backoff_in_the_same_run(outbox):
    """No answer to the first send: the message stays `sending`, due again after the retry policy's
    backoff for attempt 1 (never the claim's expiry), resent by the same run as the same bytes;
    Sonet's DUPLICATE settles it."""
    clock = ManualClock(T0)
    [mid] = enqueue(outbox, 1, clock)
    sonet = ScriptedSonet(clock, script={mid: [LOST]})
    seen = []
    sonet.before_send = lambda _: seen.append(outbox.get(mid))
    report = sender(outbox, sonet, clock).send_due()
    backoff = RetryPolicy().delay(1, None, random.Random(SEED))
    assert 0 < backoff <= RetryPolicy().base_seconds
    first, second = sonet.sends_of(mid)
    assert second.at - first.at == timedelta(seconds=backoff), "resent after the policy's backoff"
    assert second.xml == first.xml
    waiting = seen[1]
    assert (waiting.state, waiting.error.code, waiting.attempts) == (SENDING, NO_ANSWER, 2)
    assert (report.unknown, report.duplicate, report.claimed) == (1, 1, 2)
    message = outbox.get(mid)
    assert (message.state, message.sonet_order_number) == (SENT, "SO-1")
    reasons = [e.reason for e in outbox.events(mid)]
    assert any("outcome unknown, same bytes again after" in r for r in reasons)


def test_a_lost_answer_due_beyond_the_runs_wait_is_due_for_the_next_run_at_its_retry_time(outbox):
    """A backoff longer than LOST_WAIT_SECONDS: the run ends; the message stays `sending`, due (its claim
    and next attempt) at the retry time, and the next run resends it then, not before."""
    clock = ManualClock(T0)
    [mid] = enqueue(outbox, 1, clock)
    sonet = ScriptedSonet(clock, script={mid: [LOST]})
    policy = RetryPolicy(base_seconds=500, cap_seconds=500)
    rng = random.Random(SEED)
    report = sender(outbox, sonet, clock, retry=policy, rng=rng).send_due()
    backoff = policy.delay(1, None, random.Random(SEED))
    assert backoff > LOST_WAIT_SECONDS and report.unknown == 1 and len(sonet.sent) == 1
    message = outbox.get(mid)
    retry_at = sonet.sent[0].at + timedelta(seconds=backoff)
    assert (message.state, message.claim_expires_at, message.next_attempt_at) == (SENDING, retry_at, retry_at)
    assert outbox.due_tenants(retry_at - timedelta(milliseconds=1)) == []
    assert outbox.due_tenants(retry_at) == [TENANT], "the order sensor asks for a run then"
    clock.set(retry_at)
    later = sender(outbox, sonet, clock, owner="run-2").send_due()
    assert (later.claimed, later.duplicate) == (1, 1) and outbox.get(mid).state == SENT


def test_a_run_that_lost_its_claim_leaves_the_message_to_the_run_that_took_it(outbox):
    """A run stalled past its claim (no renewal): another run took the message; the stalled run's late
    answer does not fail it, and the message is the other run's to settle."""
    clock = ManualClock(T0)
    [mid] = enqueue(outbox, 1, clock)
    entered, go = threading.Event(), threading.Event()

    def stall(message_id: str) -> None:
        entered.set()
        assert go.wait(30)

    sonet = ScriptedSonet(clock, before_send=stall)
    stalled = sender(outbox, sonet, clock, renew_every=CLAIM_SECONDS - 0.5)  # no renewal in the test's time
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("report", stalled.send_due()))
    thread.start()
    try:
        assert entered.wait(10)
        clock.advance(CLAIM_SECONDS)
        [taken] = outbox.claim(TENANT, now=clock.now(), limit=1, owner="run-2", claim_seconds=CLAIM_SECONDS)
        assert taken.message_id == mid
    finally:
        go.set()
        thread.join(30)
    assert result["report"].claims_lost == 1
    assert (outbox.get(mid).state, outbox.get(mid).claimed_by) == (SENDING, "run-2")


class _HookedClock(ManualClock):
    """A ManualClock that runs `on_sleep` once, at the first sleep (the run waiting for a retry time)."""

    on_sleep = None

    def sleep(self, seconds: float) -> None:
        hook, self.on_sleep = self.on_sleep, None
        if hook is not None:
            hook()
        super().sleep(seconds)


def test_a_run_waiting_for_a_lost_answers_retry_time_sends_new_orders_meanwhile(outbox):
    """While the run waits for a lost answer's retry time (6.5 s here), an order enqueued meanwhile is
    sent within a second; the lost one is resent at its retry time."""
    clock = _HookedClock(T0)
    [lost_id] = enqueue(outbox, 1, clock)
    sonet = ScriptedSonet(clock, script={lost_id: [LOST]})
    later: list[str] = []
    clock.on_sleep = lambda: later.append(
        outbox.enqueue(TENANT, order("WEB-LATE"), actor="intake", now=clock.now()).message_id
    )
    policy = RetryPolicy(base_seconds=20, cap_seconds=20)
    backoff = policy.delay(1, None, random.Random(SEED))
    assert 1 < backoff < LOST_WAIT_SECONDS
    report = sender(outbox, sonet, clock, retry=policy).send_due()
    first, again = sonet.sends_of(lost_id)
    [late] = sonet.sends_of(later[0])
    assert late.at - first.at <= timedelta(seconds=1), "sent while the run waited"
    assert again.at - first.at == timedelta(seconds=backoff)
    assert (report.sent, report.duplicate, report.unknown) == (1, 1, 1)


def test_the_run_tells_its_listener_after_every_answer(outbox):
    """`on_answer` hears the report after each settled answer: as many times as answers, sent counting up."""
    clock = ManualClock(T0)
    enqueue(outbox, 6, clock)
    heard: list[int] = []
    report = sender(outbox, ScriptedSonet(clock), clock).send_due(on_answer=lambda r: heard.append(r.sent))
    assert report.sent == 6 and heard == [1, 2, 3, 4, 5, 6]
