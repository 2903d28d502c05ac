"""Sonet's throttle as the stand-in applies it: a token bucket and a cap on requests in flight.

Clients do not keep to a bucket like this one: theirs (`sonet/lower_bound_bucket.py`) is a lower bound
of it, since a server takes its token when a request arrives, which a client never sees.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sonet_pipeline.common.clock import Clock, SystemClock


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up. Thread-safe.

    `try_take()` never blocks: it takes a token and answers 0.0, or takes nothing and answers the
    seconds until a token will be there (what a server puts in Retry-After).
    """

    def __init__(self, rate: float, burst: int, clock: Clock | None = None) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"a token bucket needs rate > 0 and burst >= 1, got rate={rate} burst={burst}")
        self.rate = float(rate)
        self.burst = int(burst)
        self._clock = clock or SystemClock()
        self._tokens = float(burst)
        self._last = self._clock.monotonic()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def try_take(self) -> float:
        with self._lock:
            self._refill()
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self.rate

    def retry_after_seconds(self, wait: float) -> int:
        """Whole seconds for a Retry-After header: never 0 when the caller must wait."""
        return max(1, math.ceil(wait))


class InFlightLimit:
    """At most `limit` holders at once; `try_enter` refuses instead of waiting. Thread-safe."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"an in-flight limit must be >= 1, got {limit}")
        self.limit = limit
        self._count = 0
        self._lock = threading.Lock()

    @property
    def count(self) -> int:
        return self._count

    def try_enter(self) -> bool:
        with self._lock:
            if self._count >= self.limit:
                return False
            self._count += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self._count -= 1

    @contextmanager
    def held(self) -> Iterator[bool]:
        """`with limit.held() as entered:` enters if it can; leaves on exit if it entered."""
        entered = self.try_enter()
        try:
            yield entered
        finally:
            if entered:
                self.leave()
