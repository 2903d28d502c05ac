"""What Sonet's answer to one send means for the message, and a lost answer past the retry window.

| outcome (`sonet/message.py`) | the message |
| --- | --- |
| ACCEPTED, DUPLICATE | `sent` with the Sonet order number |
| REJECTED (400, 409, 413) | `failed` with Sonet's code, message and field |
| TRANSIENT (429, 5xx) | `pending` again, due after the policy's backoff (never before a Retry-After) |
| UNKNOWN (no answer) | stays `sending`, due again after the same backoff; resent, same bytes (DUPLICATE settles it) |
| REFUSED (401, 403) | not settled here: the sender releases the message and stops the tenant |

Past the tenant's retry window (`send_retry_hours`) a message that met only transient answers is
`failed` RETRY_EXHAUSTED; one whose answer was lost is first looked up in Sonet (`salesOrder`), once
its last send is `LOOKUP_AFTER_SECONDS` old.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sonet_pipeline.common.clock import Clock
from sonet_pipeline.outbound.send_report import SendReport
from sonet_pipeline.outbox.model import RETRY_EXHAUSTED, Message
from sonet_pipeline.outbox.store import Outbox
from sonet_pipeline.sonet.message import ACCEPTED, DUPLICATE, REJECTED, UNKNOWN, SendOutcome
from sonet_pipeline.sonet.retry import RetryPolicy

#: The contract's visibility lag plus skew: `salesOrder(messageId)` proves nothing sooner after a send.
LOOKUP_AFTER_SECONDS = 120.0
NO_ANSWER = "NO_ANSWER"


@dataclass(frozen=True)
class Settlement:
    """Settles a tenant's messages by Sonet's answers, as the run's owner `owner`."""

    outbox: Outbox
    owner: str
    clock: Clock
    retry_window: timedelta
    retry: RetryPolicy
    rng: random.Random
    lookup: Callable[[str], dict[str, Any] | None] | None  # salesOrder(messageId), for lost answers

    def settle(self, message: Message, outcome: SendOutcome, report: SendReport) -> datetime | None:
        """Move the message by its answer; for a lost answer, the instant it is due again."""
        now, mid = self.clock.now(), message.message_id
        if outcome.kind in (ACCEPTED, DUPLICATE):
            self.outbox.mark_sent(
                mid,
                sonet_order_number=outcome.sonet_order_number or "",
                duplicate=outcome.kind == DUPLICATE,
                actor=self.owner,
                now=now,
                owner=self.owner,
            )
            report.sent += outcome.kind == ACCEPTED
            if outcome.kind == ACCEPTED and message.price_mismatches:
                report.price_flagged.append({"orderNumber": message.order_number, "lines": message.price_mismatches})
            report.duplicate += outcome.kind == DUPLICATE
        elif outcome.kind == REJECTED:
            self.outbox.mark_failed(
                mid,
                code=outcome.code or "REJECTED",
                message=outcome.message,
                field=outcome.field,
                actor=self.owner,
                now=now,
                owner=self.owner,
            )
            report.failed[outcome.code or "REJECTED"] += 1
        elif outcome.kind == UNKNOWN:  # stays `sending`: resent, same bytes, after the policy's backoff
            closed = self.window_closed(message, now)
            delay = LOOKUP_AFTER_SECONDS if closed else self.retry.delay(max(1, message.attempts), None, self.rng)
            retry_at = now + timedelta(seconds=delay)
            self.outbox.note_unknown(
                mid,
                code=NO_ANSWER,
                message=outcome.message,
                retry_at=retry_at,
                actor=self.owner,
                now=now,
                owner=self.owner,
            )
            report.unknown += 1
            return retry_at
        elif self.window_closed(message, now):
            text = f"no decisive answer within the retry window; last: {outcome.code}: {outcome.message}"
            self.outbox.mark_failed(
                mid, code=RETRY_EXHAUSTED, message=text[:1000], actor=self.owner, now=now, owner=self.owner
            )
            report.failed[RETRY_EXHAUSTED] += 1
        else:
            report.throttled_429 += outcome.status == 429
            delay = self.retry.delay(max(1, message.attempts), outcome.retry_after, self.rng)
            self.outbox.mark_retry(
                mid,
                next_attempt_at=now + timedelta(seconds=delay),
                code=outcome.code or "TRANSIENT",
                message=outcome.message,
                actor=self.owner,
                now=now,
                owner=self.owner,
            )
            report.retried += 1
        return None

    def window_closed(self, message: Message, now: datetime) -> bool:
        start = message.first_attempt_at or message.created_at
        return now - start >= self.retry_window

    def look_up_or_give_up(self, message: Message, report: SendReport) -> None:
        """A lost answer past the retry window, its last send at least the visibility lag ago: Sonet's
        `salesOrder` decides. Found: `sent`. Not found: RETRY_EXHAUSTED (reconcile can still settle it)."""
        now, mid = self.clock.now(), message.message_id
        found = self.lookup(mid) if self.lookup is not None else None
        if found is not None:
            self.outbox.settle(mid, sonet_order_number=found["sonetOrderNumber"], actor=self.owner, now=now)
            report.duplicate += 1
            return
        text = "answers were lost until the retry window closed, and Sonet does not list the order"
        self.outbox.mark_failed(mid, code=RETRY_EXHAUSTED, message=text, actor=self.owner, now=now, owner=self.owner)
        report.failed[RETRY_EXHAUSTED] += 1


def answer_lost(message: Message) -> bool:
    """The message's last send got no answer (it stays `sending`)."""
    return message.error is not None and message.error.code == NO_ANSWER
