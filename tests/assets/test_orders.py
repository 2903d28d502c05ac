"""The order procession end to end: outbox → send runs through Dagster → the running stand-in.

Every 400 code ends `failed` with its reason; DUPLICATE counts as sent; throttling and lost answers
lose no order and create none twice; a send process SIGKILLed mid-batch, followed by a new run,
leaves every order created exactly once in Sonet (the stand-in's counters prove it).
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sonet_pipeline.cli.runs.send import run_send
from sonet_pipeline.cli.runs.sync import run_sync
from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.config import settings
from sonet_pipeline.config.tenants import load_tenants
from sonet_pipeline.contract import read_text
from sonet_pipeline.definitions import build_definitions
from sonet_pipeline.jobs.cli_runs import prepare_instance
from sonet_pipeline.outbound.claims import CLAIM_SECONDS
from sonet_pipeline.outbox import FAILED, SENDING, SENT, open_outbox
from sonet_pipeline.sonet.retry import RetryPolicy
from sonet_pipeline.standin.runtime import ApiLimits, Faults
from tests.standin.standin_http import SonetClient
from tests.tenants_file import write_acme_tenant

pytestmark = pytest.mark.slow

EXAMPLE = json.loads(read_text("examples/commerce-order-b2b.json"))


def order(number: str, **changes) -> dict:
    """The contract's example web order under another order number, with `changes` applied."""
    result = copy.deepcopy(EXAMPLE)
    result["orderNumber"] = number
    for path, value in changes.items():
        target = result
        *parents, last = path.split("__")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value
    return result


def write_tenants(
    sonet: SonetClient, folder: Path, monkeypatch, *, rate: float = 50, in_flight: int = 4, send_every: int = 10
) -> None:
    limits = f"message_limits: {{rate: {rate}, burst: {max(1, int(rate))}, in_flight: {in_flight}}}"
    write_acme_tenant(sonet, folder, monkeypatch, limits=limits, extra=f"    send_every_seconds: {send_every}\n")


class Procession:
    """The deployment on the stand-in's clock: sync the catalogue once, enqueue, send."""

    def __init__(self, sonet: SonetClient, clock=None) -> None:
        self.sonet = sonet
        self.clock = clock or sonet.clock
        self.tenants = load_tenants()
        self.defs = build_definitions(self.tenants, clock=self.clock)
        self.instance = prepare_instance()
        self.outbox = open_outbox(settings.postgres_dsn())  # production mode's, else the data dir's SQLite

    def sync(self) -> None:
        assert run_sync(self.defs, self.instance, self.tenants, now=datetime.now(UTC)).success

    def enqueue(self, *orders: dict) -> list[str]:
        results = self.outbox.enqueue_many("acme", list(orders), actor="test", now=self.clock.now())
        return [r.message_id for r in results]

    def send(self):
        summary = run_send(self.defs, self.instance, self.tenants)
        assert summary.success, summary.failures
        return summary.tenants.get("acme", {}).get("messages_delivered", {})

    def states(self, ids: list[str]) -> dict[str, str]:
        return {mid: str(self.outbox.get(mid).state) for mid in ids}


def accepted_once(sonet: SonetClient, ids: list[str]) -> None:
    """Sonet holds each of these MessageIds exactly once, and no other order."""
    orders = sonet.admin_json("GET", "/companies/01/orders")
    accepted = [o["messageId"] for o in orders]
    assert sorted(accepted) == sorted(ids)


def test_every_outcome_ends_in_its_state_with_its_reason(sonet, tmp_path, monkeypatch):
    """Accepted → sent; each Sonet 400 code → failed with code and field; unmappable → failed, never sent."""
    write_tenants(sonet, tmp_path, monkeypatch)
    procession = Procession(sonet)
    procession.sync()
    good, unknown_item, blocked, zero = procession.enqueue(
        order("WEB-1"),
        order("WEB-2", lines__1__sku="NO-SUCH-ITEM"),
        order("WEB-3", customer__customerNumber="C10666", customer__contactId="C10666-1"),
        order("WEB-4", lines__0__quantity="0"),
    )
    figures = procession.send()
    assert figures["sent"] == 1 and figures["failed"] == 3
    assert procession.states([good, unknown_item, blocked, zero]) == {
        good: SENT,
        unknown_item: FAILED,
        blocked: FAILED,
        zero: FAILED,
    }
    errors = {mid: procession.outbox.get(mid).error for mid in (unknown_item, blocked, zero)}
    assert (errors[unknown_item].code, errors[unknown_item].field) == ("UNKNOWN_ITEM", "Lines/Line[2]/ItemCode")
    assert errors[blocked].code == "CUSTOMER_BLOCKED"
    assert (errors[zero].code, errors[zero].field) == ("UNMAPPABLE", "lines[0].quantity")
    accepted_once(sonet, [good])
    message = procession.outbox.get(good)
    assert message.sonet_order_number and b"<AdditionalInfo>Size = L</AdditionalInfo>" in message.xml


def test_duplicate_counts_as_sent(sonet, tmp_path, monkeypatch):
    """A message Sonet accepted before (its answer lost) is sent when Sonet answers DUPLICATE."""
    write_tenants(sonet, tmp_path, monkeypatch)
    procession = Procession(sonet)
    procession.sync()
    [mid] = procession.enqueue(order("WEB-9"))
    [claimed] = procession.outbox.claim("acme", now=sonet.clock.now(), limit=1, owner="lost", claim_seconds=60)
    from sonet_pipeline.orders.sales_order_xml import build_sales_order

    xml = build_sales_order(claimed.order, message_id=mid, variant_attributes=lambda sku: None).xml
    procession.outbox.record_built(mid, xml, now=sonet.clock.now(), owner="lost")
    assert sonet.send(xml).status_code == 201  # the answer never reached the outbox
    sonet.advance(61)  # the lost run's claim expires
    figures = procession.send()
    assert figures["duplicate"] == 1 and procession.outbox.get(mid).state == SENT
    accepted_once(sonet, [mid])


def test_throttling_and_lost_answers_lose_nothing_and_create_nothing_twice(start_standin, tmp_path, monkeypatch):
    """With a tight limit and a third of the answers lost, repeated runs deliver every order exactly once."""
    sonet = start_standin(message_limits=ApiLimits(rate=2, burst=2, in_flight=2), faults=Faults(lost_answer_share=0.3))
    write_tenants(sonet, tmp_path, monkeypatch, rate=3, in_flight=2)  # a client limit above the server's
    procession = Procession(sonet)
    procession.sync()
    ids = procession.enqueue(*(order(f"WEB-{n}") for n in range(30)))
    for _ in range(40):
        procession.send()
        if all(state == SENT for state in procession.states(ids).values()):
            break
        sonet.advance(61)
    assert set(procession.states(ids).values()) == {SENT}
    accepted_once(sonet, ids)
    counters = sonet.admin_json("GET", "/companies/01/counters")
    assert counters["responses"]["message"].get("429", 0) > 0, "the limit was never hit: not a throttling test"


def test_a_send_killed_mid_batch_is_finished_by_the_next_run_exactly_once(start_standin, tmp_path, monkeypatch):
    """SIGKILL of `sonet-pipeline send` mid-batch; the next run (claims expired, CLAIM_SECONDS after the
    killed run's last renewal) resends what was left in `sending`, same bytes: every order exists
    exactly once in Sonet."""
    sonet = start_standin(faults=Faults(slow_share=1.0, slow_seconds=0.3))
    write_tenants(sonet, tmp_path, monkeypatch, rate=100, in_flight=2)
    procession = Procession(sonet)
    procession.sync()
    ids = procession.enqueue(*(order(f"WEB-{n}") for n in range(20)))
    child = subprocess.Popen(
        [sys.executable, "-m", "sonet_pipeline.cli", "send"],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while SENT not in procession.states(ids).values() and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    states = procession.states(ids)
    assert SENDING in states.values() and SENT in states.values(), states

    later = Procession(sonet, clock=ManualClock(datetime.now(UTC)))
    later.clock.advance(CLAIM_SECONDS)  # past the killed run's last renewal of its claims
    sonet.admin_json("POST", "/faults", json={"slow_share": 0})
    later.send()
    assert set(later.states(ids).values()) == {SENT}
    accepted_once(sonet, ids)


def test_a_deleted_customer_is_unknown_customer(sonet, tmp_path, monkeypatch):
    """Sonet's UNKNOWN_CUSTOMER (a DELETED customer) ends `failed` with its code and field."""
    write_tenants(sonet, tmp_path, monkeypatch)
    procession = Procession(sonet)
    procession.sync()
    [mid] = procession.enqueue(order("WEB-5", customer__customerNumber="C10999", customer__contactId="C10999-1"))
    procession.send()
    error = procession.outbox.get(mid).error
    assert (procession.outbox.get(mid).state, error.code, error.field) == (
        FAILED,
        "UNKNOWN_CUSTOMER",
        "Customer/CustomerNumber",
    )


def test_refused_credentials_fail_the_run_loudly_and_send_nothing(sonet, tmp_path, monkeypatch):
    """A wrong token: the send run fails naming the tenant, and every claimed message is back to pending."""
    write_tenants(sonet, tmp_path, monkeypatch)
    procession = Procession(sonet)
    procession.sync()
    ids = procession.enqueue(order("WEB-6"), order("WEB-7"))
    monkeypatch.setenv("ACME_T", "not-the-token")
    summary = run_send(
        build_definitions(procession.tenants, clock=sonet.clock), procession.instance, procession.tenants
    )
    assert not summary.success
    assert any("acme" in failure and "refused" in failure for failure in summary.failures)
    assert "not-the-token" not in json.dumps(summary.as_json())
    assert set(procession.states(ids).values()) == {"pending"}
    accepted_once(sonet, [])


def test_a_lost_answer_past_the_retry_window_is_settled_by_a_lookup(start_standin, tmp_path, monkeypatch):
    """Answers lost until the retry window closes: the message is not sent again but looked up with
    `salesOrder` (its last send long past the visibility lag); Sonet has it, so it is `sent`."""
    sonet = start_standin(faults=Faults(lost_answer_share=1.0), lag_seconds=90)
    write_tenants(sonet, tmp_path, monkeypatch)
    procession = Procession(sonet)
    procession.sync()
    [mid] = procession.enqueue(order("WEB-8"))
    # The run resends the lost answer after each backoff while that comes within LOST_WAIT_SECONDS.
    assert procession.send()["without_answer"] >= 1
    assert procession.outbox.get(mid).state == SENDING
    arrivals = sonet.admin_json("GET", "/companies/01/counters")["message_arrivals"][mid]
    sonet.advance(25 * 3600)  # the 24 h retry window is over
    figures = procession.send()
    assert figures["duplicate"] == 1 and figures["without_answer"] == 0
    message = procession.outbox.get(mid)
    assert message.state == SENT and message.sonet_order_number
    counters = sonet.admin_json("GET", "/companies/01/counters")
    assert counters["message_arrivals"][mid] == arrivals, "not sent again once the window closed"
    accepted_once(sonet, [mid])


def test_a_lost_answer_is_resent_after_the_policy_backoff_and_settled_by_duplicate(
    start_standin, tmp_path, monkeypatch
):
    """A third of the answers lost (`/admin/faults`): one send run delivers all 20 orders, each once in
    Sonet; every lost answer is resent (same MessageId) after the retry policy's backoff for its attempt
    (at most 0.5 s x 2^(attempt-1)), not after a claim's expiry, and DUPLICATE settles it."""
    sonet = start_standin()
    write_tenants(sonet, tmp_path, monkeypatch)
    procession = Procession(sonet)
    procession.sync()
    sonet.admin_json("POST", "/faults", json={"lost_answer_share": 0.3})
    ids = procession.enqueue(*(order(f"WEB-{n}") for n in range(20)))
    started = sonet.clock.now()
    figures = procession.send()
    elapsed = (sonet.clock.now() - started).total_seconds()
    counters = sonet.admin_json("GET", "/companies/01/counters")
    assert counters["lost_answers"] >= 1, "the seeded fault coin loses some of the first 20 answers"
    assert figures["without_answer"] == counters["lost_answers"]
    assert set(procession.states(ids).values()) == {SENT}, "all settled by the one run"
    accepted_once(sonet, ids)
    policy = RetryPolicy()
    waits = []
    for mid in ids:
        events = procession.outbox.events(mid)
        for index, (lost, again) in enumerate(itertools.pairwise(events)):
            if "outcome unknown" in lost.reason:
                attempt = sum(1 for e in events[:index] if "claim" in e.reason)
                waited = (again.at - lost.at).total_seconds()
                ceiling = min(policy.cap_seconds, policy.base_seconds * 2 ** (attempt - 1))
                assert "expired" in again.reason and waited <= ceiling + 0.5, (mid, attempt, waited)
                waits.append(waited)
    assert len(waits) == counters["lost_answers"]
    assert elapsed < 10, f"the run took {elapsed:.1f} s on the stand-in's clock"
