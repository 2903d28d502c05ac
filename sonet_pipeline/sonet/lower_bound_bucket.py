"""What a client can know of Sonet's token bucket: a lower bound, so that it never causes a 429 itself.

Sonet takes a token when a request *arrives*, which the client never sees: somewhere between the
moment it starts sending and the moment it has read the whole answer. A client bucket that takes its
token at the send overdraws Sonet's whenever one request travels faster than the one before it (the
first request on a new connection is the slow one: a 429 on the third request at 1/s, burst 2).

`LowerBoundBucket` places every request where it costs Sonet the most:

- a request in flight is counted as arriving *now*, for as long as it is in flight;
- a request answered is counted as having arrived when its answer was read, the latest it can have;
- a new bucket starts empty at its creation (another client, or the last run, may have just spent
  Sonet's tokens), and after a Retry-After nothing saved is left (`drain`);
- it refills `RATE_MARGIN` slower than Sonet's, so clock drift and float rounding stay on the safe side.

Sonet, whatever the actual arrival times within those intervals, then holds at least as many tokens
as this bucket, and a request starts only when this bucket has one for it and for every request still
in flight: `level(now) - in_flight >= 1`. Sonet's bucket is `min(burst, ...)`, so at most `burst`
requests are ever in flight here (with burst 1: one request, and the next 1/rate after its answer).
The same bound makes the count of requests Sonet sees in flight at once at most the client's.

Every number is on the injected clock; the bucket never sleeps, it says how long to wait.
"""

from __future__ import annotations

import threading

from sonet_pipeline.common.clock import Clock

#: The share by which the client refills slower than Sonet: covers clock drift between the machines
#: (parts per million) and float rounding, for a cost of 0.1 % of the rate.
RATE_MARGIN = 1e-3


class LowerBoundBucket:
    """Sonet's bucket of `rate` tokens a second, at most `burst`, as the client must assume it. Thread-safe.

    `try_start()` counts a request in flight and answers 0.0, or answers the seconds to wait before
    trying again; `finish()` counts its answer read (or its attempt given up) now.
    """

    def __init__(self, rate: float, burst: int, clock: Clock, *, rate_margin: float = RATE_MARGIN) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"a token bucket needs rate > 0 and burst >= 1, got rate={rate} burst={burst}")
        if not 0 <= rate_margin < 1:
            raise ValueError(f"rate_margin must be in [0, 1), got {rate_margin}")
        self.rate = float(rate)
        self.burst = int(burst)
        self._refill_rate = self.rate * (1.0 - rate_margin)
        self._clock = clock
        self._lock = threading.Lock()
        # The bound on Sonet's tokens at `_last`, counting the requests answered; may be below zero
        # (several answers read at once). Empty at the start: Sonet's may be, too.
        self._level = 0.0
        self._last = clock.monotonic()
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        """Requests started and not finished."""
        with self._lock:
            return self._in_flight

    def level(self) -> float:
        """Tokens Sonet holds at least now, before the requests in flight are taken from them."""
        with self._lock:
            return self._level_now(self._clock.monotonic())

    def try_start(self) -> float:
        """Count a request in flight and answer 0.0, or answer the seconds until there may be a token
        for it (with none started meanwhile; an answer read meanwhile makes it longer)."""
        with self._lock:
            now = self._clock.monotonic()
            missing = self._in_flight + 1 - self._level_now(now)
            if missing <= 0:
                self._in_flight += 1
                return 0.0
            if self._in_flight + 1 > self.burst:
                # A full bucket would not do: only an answer frees room. Look again after a token's time.
                return 1.0 / self._refill_rate
            return missing / self._refill_rate

    def finish(self) -> None:
        """The answer of a started request is read, or its attempt is over: it arrived by now at the latest."""
        with self._lock:
            if self._in_flight < 1:
                raise RuntimeError("finish() without a request in flight")
            now = self._clock.monotonic()
            self._level = self._level_now(now) - 1.0
            self._last = now
            self._in_flight -= 1

    def drain(self) -> None:
        """Keep nothing saved from now (after a Retry-After: the end of a hold is no burst)."""
        with self._lock:
            now = self._clock.monotonic()
            self._level = min(self._level_now(now), 0.0)
            self._last = now

    def _level_now(self, now: float) -> float:
        return min(float(self.burst), self._level + (now - self._last) * self._refill_rate)

    def __repr__(self) -> str:
        return f"LowerBoundBucket(rate={self.rate:g}, burst={self.burst}, in_flight={self._in_flight})"
