"""The client-side throttle: token rate, burst, in-flight cap, hold-offs for everyone, and the registry."""

from __future__ import annotations

import random
import threading
import time

import pytest

from sonet_pipeline.common.clock import ManualClock, SystemClock
from sonet_pipeline.common.token_bucket import TokenBucket
from sonet_pipeline.sonet.lower_bound_bucket import RATE_MARGIN
from sonet_pipeline.sonet.throttle import Throttle, throttle_for


def _send(throttle: Throttle, times: int) -> None:
    for _ in range(times):
        with throttle.slot():
            pass


def test_a_new_throttle_starts_empty_then_a_burst_goes_at_once_and_the_rest_at_the_rate():
    """The first request waits 1/rate (Sonet's bucket may have just been spent by another run); a bucket
    saved up goes at once; after that one request per 1/rate seconds, a little slower (`RATE_MARGIN`)."""
    clock = ManualClock()
    throttle = Throttle(rate=5, burst=10, in_flight=4, clock=clock)
    _send(throttle, 1)
    assert clock.monotonic() == pytest.approx(0.2 / (1 - RATE_MARGIN), abs=1e-5)  # the clock counts microseconds
    clock.advance(10.0)  # the bucket fills up to its burst, no further
    started = clock.monotonic()
    _send(throttle, 10)
    assert clock.monotonic() == started
    _send(throttle, 20)
    assert clock.monotonic() - started == pytest.approx(4.0 / (1 - RATE_MARGIN), abs=1e-4)


@pytest.mark.parametrize(("rate", "burst"), [(1, 1), (1, 2), (0.5, 1), (0.3, 2), (5, 2), (5, 10)])
def test_requests_one_after_another_never_overdraw_sonets_bucket(rate, burst):
    """A sync's requests, one after another through the throttle, each taking a random time to reach
    Sonet (the stand-in's own bucket, on the same clock, just spent by another run) and a random time
    for the answer to come back: Sonet has a token for every one of them."""
    clock = ManualClock()
    sonet = TokenBucket(rate, burst, clock)
    while sonet.try_take() == 0:
        pass
    throttle = Throttle(rate, burst, in_flight=2, clock=clock)
    rng = random.Random(burst * 1000 + int(rate * 10))
    refused = []
    for n in range(300):
        with throttle.slot():
            clock.advance(rng.choice([0.0, 1e-6, rng.uniform(0, 0.01), rng.uniform(0, 2 / rate)]))
            if sonet.try_take() > 0:
                refused.append(n)
            clock.advance(rng.choice([0.0, rng.uniform(0, 0.01), rng.uniform(0, 1 / rate)]))
        clock.advance(rng.choice([0.0, 0.0, rng.uniform(0, 1 / rate)]))  # the caller's own work
    assert refused == []


def test_a_hold_off_makes_the_next_request_wait_and_drops_saved_tokens():
    """After `hold_off(s)` no request goes for s seconds, and the hold's end is no burst: the tokens
    saved before it are gone."""
    clock = ManualClock()
    throttle = Throttle(rate=10, burst=10, in_flight=4, clock=clock)
    throttle.hold_off(3.0)
    assert throttle.hold_left() == 3.0
    _send(throttle, 1)
    assert clock.monotonic() == pytest.approx(3.0)
    _send(throttle, 29)  # 30 tokens refilled during the hold, capped at the burst of 10
    assert clock.monotonic() == pytest.approx(3.0 + 2.0 / (1 - RATE_MARGIN), abs=1e-4)


def test_overlapping_hold_offs_do_not_add_up():
    """Two callers obeying the same Retry-After wait it once: the latest end wins, not the sum."""
    clock = ManualClock()
    throttle = Throttle(rate=100, burst=100, in_flight=4, clock=clock)
    throttle.hold_off(2.0)
    clock.advance(1.0)
    throttle.hold_off(2.0)
    throttle.hold_off(0.5)
    _send(throttle, 1)
    assert clock.monotonic() == pytest.approx(3.0)


def test_a_hold_off_stops_callers_of_other_threads_too():
    """A Retry-After met by one client holds every caller of the throttle (here on the real clock)."""
    throttle = Throttle(rate=1000, burst=1000, in_flight=4, clock=SystemClock())
    throttle.hold_off(0.3)
    started = time.monotonic()
    thread = threading.Thread(target=_send, args=(throttle, 1))
    thread.start()
    thread.join(timeout=5)
    assert time.monotonic() - started >= 0.29


def test_no_more_than_in_flight_callers_hold_a_slot_at_once():
    """With in_flight=2, eight threads never hold more than two slots at the same time."""
    throttle = Throttle(rate=1000, burst=1000, in_flight=2, clock=SystemClock())
    lock = threading.Lock()
    holding, most = 0, 0

    def work() -> None:
        nonlocal holding, most
        for _ in range(5):
            with throttle.slot():
                with lock:
                    holding += 1
                    most = max(most, holding)
                time.sleep(0.002)
                with lock:
                    holding -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert most == 2 and holding == 0


def test_the_registry_gives_one_throttle_per_tenant_and_api():
    """Every client of one (base_url, company, api) shares one throttle; other keys get their own; a change
    of limits replaces it."""
    key = ("http://sonet.test:1", "01", "query")
    first = throttle_for(key, 5, 10, 4)
    assert (first.rate, first.burst, first.in_flight) == (5, 10, 4)
    assert throttle_for(key, 5, 10, 4) is first
    assert throttle_for(key, 5, 10, 4, SystemClock()) is first  # every system clock tells the same time
    assert throttle_for(("http://sonet.test:1", "02", "query"), 5, 10, 4) is not first
    assert throttle_for(("http://sonet.test:1", "01", "message"), 5, 10, 4) is not first
    changed = throttle_for(key, 2, 4, 1)
    assert changed is not first and (changed.rate, changed.in_flight) == (2, 1)
    assert throttle_for(key, 2, 4, 1) is changed


def test_nonsense_limits_are_refused():
    """A throttle that could never let a request through fails when made."""
    for rate, burst, in_flight in [(0, 1, 1), (1, 0, 1), (1, 1, 0)]:
        with pytest.raises(ValueError):
            Throttle(rate, burst, in_flight)
