"""What one tenant's send run did: the messages claimed, built, sent and failed, its rate, and what the
archive could not keep."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SendReport:
    tenant: str
    claimed: int = 0
    built: int = 0
    sent: int = 0
    duplicate: int = 0
    retried: int = 0
    unknown: int = 0
    throttled_429: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    #: Attempts the archive could not keep whole (the send went on), and which: "<message id> attempt <n>".
    archive_failures: int = 0
    archive_gaps: list[str] = field(default_factory=list)
    #: Messages whose claim expired before this run settled them: another run took them and settles them.
    claims_lost: int = 0
    #: Orders Sonet accepted in this run that the intake had flagged for prices (Sonet never checks them):
    #: per order its number and each line's given and expected price and what set it (`price_gate`).
    price_flagged: list[dict[str, Any]] = field(default_factory=list)

    @property
    def delivered(self) -> int:
        return self.sent + self.duplicate

    def rate(self) -> float:
        """Messages answered per second of this run's sending."""
        answered = self.delivered + sum(self.failed.values()) + self.retried
        return answered / self.seconds if self.seconds > 0 else 0.0
