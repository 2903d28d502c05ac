"""A `sonet-pipeline send` SIGKILLed in the middle of a 300-order backlog at a tight rate: the next run
moves the backlog again within seconds, and every order is in Sonet exactly once.

The killed run held only a few seconds' worth of its rate (`outbound/claims.py`); the next run, started
at once, sends what nobody holds straight away and takes the killed run's messages back when their
claims expire (CLAIM_SECONDS after its last renewal), resending the same bytes under the same
MessageId (Sonet answers DUPLICATE to those that had arrived). Real processes, real time; every wait
polls the outbox with a deadline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from sonet_pipeline.config import settings
from sonet_pipeline.outbound.claims import claim_size
from sonet_pipeline.outbox import SENDING, SENT
from tests.assets.test_orders import Procession, accepted_once, order, write_tenants

pytestmark = pytest.mark.slow

ORDERS = 300
RATE = 20.0  # messages per second: 300 orders take 15 s of sending
IN_FLIGHT = 2
#: The promise: after a SIGKILL, the backlog moves again within this many seconds of the next run's start.
PROMISE_SECONDS = 15.0


def start_send() -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "sonet_pipeline.cli", "send"],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def poll(condition, what: str, seconds: float) -> float:
    """Seconds until `condition()` held, polling; fails after `seconds`."""
    started = time.monotonic()
    while not condition():
        waited = time.monotonic() - started
        if waited > seconds:
            pytest.fail(f"not within {seconds} s: {what}")
        time.sleep(0.1)
    return time.monotonic() - started


@pytest.mark.parametrize("outbox_backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_after_a_sigkill_the_next_send_run_moves_the_backlog_within_seconds(
    outbox_backend, start_standin, tmp_path, monkeypatch, request
):
    """Embedded (SQLite outbox, file leases) and in production mode (PostgreSQL: outbox, leases, store)."""
    if outbox_backend == "postgres":
        monkeypatch.setenv(settings.POSTGRES_DSN_ENV, request.getfixturevalue("postgres_database"))
    sonet = start_standin()
    write_tenants(sonet, tmp_path, monkeypatch, rate=RATE, in_flight=IN_FLIGHT, send_every=60)  # one run: all 300
    procession = Procession(sonet)
    procession.sync()
    outbox = procession.outbox
    ids = procession.enqueue(*(order(f"WEB-{n}") for n in range(ORDERS)))

    def sent() -> int:
        return len(outbox.list("acme", SENT))

    runs: list[subprocess.Popen[bytes]] = []
    try:
        runs.append(start_send())
        poll(lambda: sent() >= 60, "the first run sends 60 orders", 120)
        runs[0].send_signal(signal.SIGKILL)
        runs[0].wait(timeout=10)
        held = {m.message_id: m.claimed_by for m in outbox.list("acme", SENDING)}
        sent_at_kill = sent()
        assert 0 < len(held) <= 2 * claim_size(RATE, IN_FLIGHT), f"the killed run held {len(held)}"
        dead = set(held.values())

        runs.append(start_send())  # the next run, at once
        started = time.monotonic()

        def moved() -> bool:
            return sent() > sent_at_kill

        def taken_back() -> bool:
            messages = [outbox.get(mid) for mid in held]
            return all(m.state == SENT or m.claimed_by not in dead for m in messages)

        poll(moved, "the next run sends", PROMISE_SECONDS)
        first_sent = time.monotonic() - started
        poll(taken_back, "the killed run's messages taken back", PROMISE_SECONDS)
        taken = time.monotonic() - started
        poll(lambda: all(outbox.get(mid).state == SENT for mid in held), "the killed run's messages sent", 60)
        held_sent = time.monotonic() - started
        poll(lambda: sent() == ORDERS, "the backlog drained", 120)
        drained = time.monotonic() - started
        assert runs[1].wait(timeout=60) == 0
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
                run.wait(timeout=10)
    print(
        f"\n{outbox_backend}: killed with {sent_at_kill} sent and {len(held)} held by the killed run; "
        "from the next run's start: "
        f"first sent {first_sent:.1f} s, killed run's messages taken back {taken:.1f} s, all of them sent "
        f"{held_sent:.1f} s, backlog drained {drained:.1f} s"
    )
    assert taken <= PROMISE_SECONDS
    accepted_once(sonet, ids)  # each order once in Sonet: the resends were DUPLICATEs of the same MessageId
    arrivals = sonet.admin_json("GET", "/companies/01/counters")["message_arrivals"]
    assert all(arrivals[mid] <= 2 for mid in held) and all(arrivals[mid] == 1 for mid in ids if mid not in held)
