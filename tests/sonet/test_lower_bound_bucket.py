"""The client's bound on Sonet's bucket: whatever the arrival times, Sonet never has fewer tokens.

Sonet is modelled by the stand-in's own `TokenBucket` and `InFlightLimit` (what `standin/guard.py`
applies), on a `ManualClock` moved from event to event: requests start when the client's bucket says
so, arrive after a delay the client never sees, are served, and their answers are read after another
delay. Delays are drawn from wide, skewed ranges (a first request slowed by its connection's set-up, a
request overtaking an earlier one, answers read all at once); nothing waits real time.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

import pytest

from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.common.token_bucket import InFlightLimit, TokenBucket
from sonet_pipeline.sonet.lower_bound_bucket import LowerBoundBucket


class ClientBucket(Protocol):
    def try_start(self) -> float: ...

    def finish(self) -> None: ...


class SendTimeBucket:
    """The client bucket before this fix: a token taken when the request is sent, a full bucket at the start."""

    def __init__(self, rate: float, burst: int, clock: ManualClock) -> None:
        self._bucket = TokenBucket(rate, burst, clock)

    def try_start(self) -> float:
        return self._bucket.try_take()

    def finish(self) -> None:
        pass


@dataclass
class Sonet:
    """Sonet's side: the stand-in's bucket and in-flight cap, counting what it answers."""

    bucket: TokenBucket
    in_flight: InFlightLimit
    answered: int = 0
    throttled: list[str] = field(default_factory=list)

    def arrive(self, at: float) -> bool:
        if not self.in_flight.try_enter():
            self.throttled.append(f"in flight at {at:.6f}")
            return False
        if self.bucket.try_take() > 0:
            self.in_flight.leave()
            self.throttled.append(f"bucket at {at:.6f}")
            return False
        return True

    def serve(self) -> None:
        self.in_flight.leave()
        self.answered += 1


Delays = tuple[float, float]  # (to arrive, to read the answer after it was served), seconds


def simulate(
    rate: float,
    burst: int,
    in_flight: int,
    delays: list[Delays],
    *,
    client: str = "lower_bound",
    workers: int | None = None,
    spent_before: bool = True,
) -> Sonet:
    """Send `len(delays)` requests from `workers` parallel callers (the throttle's `min(in_flight, burst)`),
    each as soon as the client's bucket lets it; answer Sonet's counts."""
    clock = ManualClock()
    start = clock.now()
    sonet = Sonet(TokenBucket(rate, burst, clock), InFlightLimit(in_flight))
    while spent_before and sonet.bucket.try_take() == 0:  # another run has just spent Sonet's bucket
        pass
    bucket: ClientBucket = (
        LowerBoundBucket(rate, burst, clock) if client == "lower_bound" else SendTimeBucket(rate, burst, clock)
    )
    events: list[tuple[int, int, str, int]] = []  # (microsecond, order, what, request)
    order = 0

    def at(microsecond: int, what: str, request: int) -> None:
        nonlocal order
        order += 1
        heapq.heappush(events, (microsecond, order, what, request))

    def us(seconds: float) -> int:
        return max(0, round(seconds * 1e6))

    pending = list(range(len(delays)))
    for _ in range(workers or min(in_flight, burst)):
        at(0, "want", -1)
    while events:
        now, _, what, request = heapq.heappop(events)
        clock.set(start + timedelta(microseconds=now))
        if what == "want":
            if not pending:
                continue
            wait = bucket.try_start()
            if wait > 0:
                at(now + max(1, us(wait)), "want", -1)
                continue
            request = pending.pop(0)
            at(now + us(delays[request][0]), "arrive", request)
        elif what == "arrive":
            admitted = sonet.arrive(now / 1e6)
            at(now + (us(0.0005) if admitted else 0), "served" if admitted else "refused", request)
        elif what in ("served", "refused"):
            if what == "served":
                sonet.serve()
            at(now + us(delays[request][1]), "read", request)
        else:  # read: the answer is in; the caller goes again at once
            bucket.finish()
            at(now, "want", -1)
    return sonet


def skewed_delays(rng: random.Random, count: int, rate: float) -> list[Delays]:
    """Network delays from none to several token intervals, mostly small, some huge: any order of arrival."""
    interval = 1.0 / rate

    def one() -> float:
        roll = rng.random()
        if roll < 0.5:
            return rng.uniform(0, 0.002)
        if roll < 0.8:
            return rng.uniform(0, 0.05)
        if roll < 0.95:
            return rng.uniform(0, interval)
        return rng.uniform(0, 3 * interval)

    return [(one(), one()) for _ in range(count)]


SETTINGS = [  # (rate, burst, in flight): the tight ones, rates below 1/s, the contract's defaults
    (1, 1, 1),
    (1, 1, 4),
    (1, 2, 2),
    (0.5, 1, 1),
    (0.5, 3, 2),
    (0.2, 2, 4),
    (5, 2, 2),
    (5, 10, 4),
    (10, 20, 4),
    (200, 400, 8),
]


@pytest.mark.parametrize(("rate", "burst", "in_flight"), SETTINGS)
def test_sonet_never_refuses_a_request_the_bucket_let_through(rate, burst, in_flight):
    """Over 20 random schedules of 150 requests each, with delays up to 3 token intervals either way,
    Sonet's bucket and in-flight cap admit every request: no 429, all answered."""
    for seed in range(20):
        delays = skewed_delays(random.Random(seed), 150, rate)
        sonet = simulate(rate, burst, in_flight, delays)
        assert sonet.throttled == [], f"seed {seed}"
        assert sonet.answered == len(delays)


@pytest.mark.parametrize(("rate", "burst", "in_flight"), [(1, 1, 1), (1, 2, 2), (0.5, 1, 1), (5, 2, 2)])
def test_more_callers_than_the_throttle_lets_through_change_nothing(rate, burst, in_flight):
    """Callers beyond `min(in_flight, burst)` (as if the throttle's semaphore were wider) still cause no
    429: the bucket itself counts what is in flight against Sonet's burst."""
    for seed in range(10):
        delays = skewed_delays(random.Random(100 + seed), 100, rate)
        sonet = simulate(rate, burst, max(in_flight, 8), delays, workers=8)
        assert sonet.throttled == [], f"seed {seed}"


def test_the_send_time_bucket_overdraws_sonet_when_the_first_request_is_the_slow_one():
    """The measured case (1/s, burst 2, 2 in flight, an initial sync's pages one after the other): the
    first request takes 3.4 ms to arrive (its connection is set up), the others 1.5 ms. A bucket that
    takes its token on sending sends the third request exactly 1 s after the first; it arrives 1.9 ms
    early for Sonet's token: 429. The lower-bound bucket waits for 1 s after the first *answer*."""
    delays = [(0.0034, 0.040)] + [(0.0015, 0.010)] * 9
    before = simulate(1, 2, 2, delays, client="send_time", workers=1, spent_before=False)
    assert before.throttled and before.throttled[0].startswith("bucket at 1.00")
    after = simulate(1, 2, 2, delays, workers=1, spent_before=False)
    assert after.throttled == [] and after.answered == 10


def test_a_run_that_starts_right_after_another_waits_for_sonets_bucket():
    """A new process's bucket is empty: had it started full, the run just before would make its first
    requests 429s (the send-time bucket starts full and meets them)."""
    delays = [(0.001, 0.001)] * 4
    assert simulate(1, 2, 2, delays, client="send_time", workers=1).throttled
    assert simulate(1, 2, 2, delays, workers=1).throttled == []


def test_a_drained_bucket_keeps_nothing_saved():
    """After `drain` (a Retry-After) the next request waits a whole token's time, however long the
    bucket had been filling."""
    clock = ManualClock()
    bucket = LowerBoundBucket(2, 4, clock)
    clock.advance(10)
    assert bucket.level() == 4
    bucket.drain()
    assert bucket.try_start() == pytest.approx(0.5, rel=1e-2)
    clock.advance(0.51)
    assert bucket.try_start() == 0.0 and bucket.in_flight == 1
    bucket.finish()
    with pytest.raises(RuntimeError):
        bucket.finish()


def test_requests_in_flight_count_against_the_burst():
    """With burst 3 and a full bucket, three requests may be in flight; a fourth must wait for an answer,
    and 1/rate after it (the answered request may have arrived just then)."""
    clock = ManualClock()
    bucket = LowerBoundBucket(1, 3, clock, rate_margin=0)
    clock.advance(5)
    assert [bucket.try_start() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.try_start() > 0
    bucket.finish()  # level 3 - 1 = 2 with two still in flight: nothing left
    assert bucket.try_start() == pytest.approx(1.0)
    clock.advance(1.0)
    assert bucket.try_start() == 0.0


def test_nonsense_settings_are_refused():
    clock = ManualClock()
    for rate, burst, margin in [(0, 1, 0.0), (1, 0, 0.0), (1, 1, 1.0), (1, 1, -0.1)]:
        with pytest.raises(ValueError):
            LowerBoundBucket(rate, burst, clock, rate_margin=margin)
