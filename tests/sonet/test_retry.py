"""The one retry policy: backoff with full jitter, Retry-After as a floor, bounds, and Retry-After parsing."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from sonet_pipeline.sonet.retry import RetryPolicy, parse_retry_after

NOW = datetime(2026, 11, 28, 4, 38, tzinfo=UTC)


def test_delays_are_full_jitter_under_an_exponential_ceiling_capped():
    """The wait after attempt n lies in [0, min(cap, base * 2**(n-1))]: it spreads over the whole range
    (full jitter, not a fixed step) and never passes the cap, however many attempts."""
    policy = RetryPolicy(base_seconds=0.5, cap_seconds=10.0)
    rng = random.Random(42)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (5, 8.0), (6, 10.0), (40, 10.0), (5000, 10.0)]:
        delays = [policy.delay(attempt, None, rng) for _ in range(400)]
        assert all(0.0 <= d <= ceiling for d in delays), attempt
        assert min(delays) < ceiling * 0.1 and max(delays) > ceiling * 0.9, attempt


def test_a_retry_after_is_a_floor_even_above_the_cap():
    """A server's Retry-After is never cut short: the delay is at least that, even beyond `cap_seconds`."""
    policy = RetryPolicy(base_seconds=0.5, cap_seconds=60.0)
    rng = random.Random(1)
    assert all(policy.delay(1, 3.0, rng) >= 3.0 for _ in range(100))
    assert policy.delay(8, 1200.0, rng) == 1200.0
    assert policy.delay(1, 0.0, rng) <= 0.5


def test_the_same_seed_gives_the_same_delays():
    """Delays come only from the given random source, so seeded tests are repeatable."""
    policy = RetryPolicy()
    first = [policy.delay(n, None, random.Random(7)) for n in range(1, 9)]
    assert first == [policy.delay(n, None, random.Random(7)) for n in range(1, 9)]


def test_retrying_stops_at_max_attempts_or_past_the_give_up_bound():
    """Another attempt follows only while attempts are left and the wait ends within the give-up bound."""
    policy = RetryPolicy(max_attempts=3, give_up_after_seconds=100.0)
    assert policy.allows(1, elapsed_seconds=0.0, delay_seconds=1.0)
    assert policy.allows(2, elapsed_seconds=90.0, delay_seconds=10.0)
    assert not policy.allows(3, elapsed_seconds=0.0, delay_seconds=0.0)
    assert not policy.allows(1, elapsed_seconds=90.0, delay_seconds=10.5)
    assert not policy.allows(1, elapsed_seconds=0.0, delay_seconds=600.0)


@pytest.mark.parametrize(
    "settings",
    [{"max_attempts": 0}, {"base_seconds": 0}, {"base_seconds": 5, "cap_seconds": 1}, {"give_up_after_seconds": -1}],
)
def test_a_policy_that_cannot_work_is_refused(settings):
    """Nonsense settings fail when the policy is made, not at the first outage."""
    with pytest.raises(ValueError):
        RetryPolicy(**settings)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("Sat, 28 Nov 2026 04:40:00 GMT", 120.0),  # an HTTP-date, from now
        ("Sat, 28 Nov 2026 04:30:00 GMT", 0.0),  # in the past: go now
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("nan", None),
    ],
)
def test_retry_after_is_read_as_delta_seconds_or_an_http_date(header, seconds):
    """Retry-After in either form of RFC 9110 becomes seconds from now; what cannot be read is None."""
    assert parse_retry_after(header, NOW) == seconds
