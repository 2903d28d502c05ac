"""How often the simulated web shop orders: a steady rate, now and then an order meant to be refused,
and an optional burst (several orders in one batch request) at an interval.

`Schedule` answers, on a monotonic clock, how many single orders and how large a burst are due, and how
long to wait for the next; it never catches up more than `MAX_CATCH_UP` orders after a stall.
`Pace.kind(n)` says what the shop's n-th order (from 1) is meant to be: every `refuse_every`-th is one
to be refused, alternately by Sonet and at the intake's door.
"""

from __future__ import annotations

from dataclasses import dataclass

from sonet_pipeline.webshop.order_builder import REFUSED_AT_DOOR, REFUSED_BY_SONET, VALID, OrderKind

MAX_CATCH_UP = 5


@dataclass(frozen=True)
class Pace:
    orders_per_minute: float = 6.0
    refuse_every: int = 10  # every n-th order is meant to be refused; 0: never
    burst: int = 0  # orders posted together every `burst_every_seconds`; 0: no bursts
    burst_every_seconds: float = 300.0

    def __post_init__(self) -> None:
        if self.orders_per_minute < 0 or self.refuse_every < 0 or self.burst < 0:
            raise ValueError("the web shop's rate, refusal interval and burst are 0 or more")
        if self.burst and self.burst_every_seconds <= 0:
            raise ValueError("a burst needs an interval of more than 0 seconds")

    def kind(self, ordinal: int) -> OrderKind:
        if self.refuse_every <= 0 or ordinal % self.refuse_every:
            return VALID
        return REFUSED_BY_SONET if (ordinal // self.refuse_every) % 2 else REFUSED_AT_DOOR


class Schedule:
    """What is due when: the first order at `start`, then one every 60/rate s; the first burst one
    interval after `start`."""

    def __init__(self, pace: Pace, start: float) -> None:
        self.pace = pace
        self.interval = 60.0 / pace.orders_per_minute if pace.orders_per_minute > 0 else None
        self.next_order = start if self.interval is not None else None
        self.next_burst = start + pace.burst_every_seconds if pace.burst else None

    def due(self, now: float) -> tuple[int, int]:
        """Single orders due at `now`, and the size of the burst due (0: none); moves past them."""
        singles = 0
        if self.next_order is not None and self.interval is not None and now >= self.next_order:
            missed = int((now - self.next_order) // self.interval) + 1
            singles = min(missed, MAX_CATCH_UP)
            self.next_order += missed * self.interval
        burst = 0
        if self.next_burst is not None and now >= self.next_burst:
            burst = self.pace.burst
            missed = int((now - self.next_burst) // self.pace.burst_every_seconds) + 1
            self.next_burst += missed * self.pace.burst_every_seconds
        return singles, burst

    def wait(self, now: float, longest: float = 1.0) -> float:
        """Seconds until the next thing is due, at most `longest` (so a stop is seen soon)."""
        upcoming = [t for t in (self.next_order, self.next_burst) if t is not None]
        return max(0.0, min([longest, *(t - now for t in upcoming)]))
