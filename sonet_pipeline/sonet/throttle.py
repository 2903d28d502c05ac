"""The client side of one tenant's API limits, shared by every client of that tenant and API.

Sonet throttles per company and per API with a token bucket and a cap on requests in flight. A
`Throttle` keeps a process below both: `with throttle.slot(): send()` waits for an in-flight slot,
then for a token of its `LowerBoundBucket`, which never holds more than Sonet's can: a request counts
from the moment it is started until its answer is read, so no arrival order at Sonet and no first
request slowed by its connection's set-up makes Sonet's bucket the emptier one. Its answer must be read
inside the block. When Sonet answers with a Retry-After, `hold_off(seconds)` makes every caller of
the throttle wait that long, not only the one that met it. All waiting is on the injected clock, so
tests with a `ManualClock` never wait real time for tokens or holds.

`throttle_for(key, ...)` is the process-wide registry: one `Throttle` per (base_url, company, api).
Two processes of one tenant and API each keep to the whole limit: their sum may not.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sonet_pipeline.common.clock import Clock, SystemClock
from sonet_pipeline.sonet.lower_bound_bucket import LowerBoundBucket

log = logging.getLogger(__name__)

#: (base_url, company, api), e.g. ("https://sonet.example.com", "01", "query").
ThrottleKey = tuple[str, str, str]
_MIN_SLEEP = 1e-6


class Throttle:
    """`rate` requests a second, `burst` at once, at most `in_flight` unanswered. Thread-safe.

    A new throttle starts with no token saved (its first request waits 1/rate): Sonet's bucket may
    have just been spent by another run. At most `min(in_flight, burst)` requests are in flight: more
    than `burst` could reach Sonet at one instant.
    """

    def __init__(self, rate: float, burst: int, in_flight: int, clock: Clock | None = None) -> None:
        if in_flight < 1:
            raise ValueError(f"in_flight must be >= 1, got {in_flight}")
        self.rate = float(rate)
        self.burst = int(burst)
        self.in_flight = int(in_flight)
        self.clock: Clock = clock or SystemClock()
        self._bucket = LowerBoundBucket(rate, burst, self.clock)
        self._slots = threading.BoundedSemaphore(min(self.in_flight, self.burst))
        self._lock = threading.Lock()
        self._hold_until = float("-inf")  # on clock.monotonic()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold an in-flight slot and one token for the block; blocks until both are there and no
        hold-off is in force. The request counts against the limits until the block ends: read the
        whole answer inside it."""
        self._slots.acquire()
        try:
            self._wait_out_hold()
            while (wait := self._bucket.try_start()) > 0:
                self._sleep(wait)
            try:
                self._wait_out_hold()  # a hold that began while this caller waited for its token
                yield
            finally:
                self._bucket.finish()
        finally:
            self._slots.release()

    def hold_off(self, seconds: float) -> None:
        """Make every caller wait `seconds` from now (a Retry-After obeyed for the whole tenant).

        Tokens saved up before it are dropped too. Overlapping holds do not add up: the latest end
        wins.
        """
        if seconds <= 0:
            return
        with self._lock:
            self._hold_until = max(self._hold_until, self.clock.monotonic() + seconds)
        self._bucket.drain()

    def hold_left(self) -> float:
        """Seconds until the current hold-off ends (0 when there is none)."""
        with self._lock:
            return max(0.0, self._hold_until - self.clock.monotonic())

    def _wait_out_hold(self) -> None:
        while (left := self.hold_left()) > 0:
            self._sleep(left)

    def _sleep(self, seconds: float) -> None:
        # At least a microsecond: float arithmetic leaves waits like 1e-17 s, which a ManualClock (whole
        # microseconds) would not move for, and a wait loop would spin forever.
        self.clock.sleep(max(seconds, _MIN_SLEEP))

    def __repr__(self) -> str:
        return f"Throttle(rate={self.rate:g}, burst={self.burst}, in_flight={self.in_flight})"


_registry: dict[ThrottleKey, Throttle] = {}
_registry_lock = threading.Lock()


def throttle_for(key: ThrottleKey, rate: float, burst: int, in_flight: int, clock: Clock | None = None) -> Throttle:
    """The process's one `Throttle` for `key` = (base_url, company, api), made on first use, keeping to
    Sonet's `rate`, `burst` and `in_flight`.

    Later calls with the same limits (and the same clock, when one is given) share it. Different
    limits mean the configuration changed: a new throttle replaces the old one from then on.
    """
    with _registry_lock:
        found = _registry.get(key)
        if found is not None and _matches(found, rate, burst, in_flight, clock):
            return found
        if found is not None:
            log.info("a new %s API throttle for %s company %s: its limits or clock changed", key[2], key[0], key[1])
        throttle = _registry[key] = Throttle(rate, burst, in_flight, clock)
        return throttle


def _matches(throttle: Throttle, rate: float, burst: int, in_flight: int, clock: Clock | None) -> bool:
    same_limits = (throttle.rate, throttle.burst, throttle.in_flight) == (float(rate), int(burst), int(in_flight))
    # Every SystemClock tells the same time; a ManualClock is shared only by identity.
    system_clocks = isinstance(clock, SystemClock) and isinstance(throttle.clock, SystemClock)
    return same_limits and (clock is None or clock is throttle.clock or system_clocks)
