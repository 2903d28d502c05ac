"""The one retry policy of the project: how long to wait after a transient failure, and when to stop.

Exponential backoff with full jitter (a random wait between 0 and `base * 2**(attempt-1)`, at most
`cap`), never shorter than the server's Retry-After. A caller stops after `max_attempts` attempts or
when the next wait would end past `give_up_after_seconds` since its first attempt, measured on its
clock. Used by the Query API client and the Message API sender alike.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

#: Beyond this many doublings every delay is the cap anyway; it keeps `2**n` a small float.
_MAX_DOUBLINGS = 60


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 0.5
    cap_seconds: float = 60.0
    give_up_after_seconds: float = 600.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")
        if self.base_seconds <= 0 or self.cap_seconds < self.base_seconds:
            raise ValueError(f"need 0 < base_seconds <= cap_seconds, got {self.base_seconds}, {self.cap_seconds}")
        if self.give_up_after_seconds < 0:
            raise ValueError(f"give_up_after_seconds must be >= 0, got {self.give_up_after_seconds}")

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1 is the first) before the next.

        Full jitter: uniform in [0, min(cap, base * 2**(attempt-1))]; at least `retry_after` when the
        server gave one (a Retry-After is obeyed even when it is longer than the cap).
        """
        if attempt < 1:
            raise ValueError(f"attempts count from 1, got {attempt}")
        ceiling = min(self.cap_seconds, self.base_seconds * 2.0 ** min(attempt - 1, _MAX_DOUBLINGS))
        backoff = rng.uniform(0.0, ceiling)
        return max(backoff, retry_after or 0.0)

    def allows(self, attempt: int, elapsed_seconds: float, delay_seconds: float) -> bool:
        """Whether another attempt may follow failed attempt `attempt`, `elapsed_seconds` after the
        first began, after waiting `delay_seconds`."""
        return attempt < self.max_attempts and elapsed_seconds + delay_seconds <= self.give_up_after_seconds


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """A Retry-After header in seconds from `now`: delta-seconds (`"120"`) or an HTTP-date
    (`"Fri, 28 Nov 2026 04:40:00 GMT"`; a date in the past is 0). None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:  # not RFC 9110, but servers send "1.5"; a negative or non-finite number is unreadable
        return seconds if 0 <= seconds < float("inf") else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" or no zone: HTTP-dates are always GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
