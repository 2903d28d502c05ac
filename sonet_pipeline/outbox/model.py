"""The outbox's messages, their states, and the one table of moves between states.

A message is one web-shop order on its way to Sonet, under a MessageId (a UUID4) that never changes.
Its SalesOrder XML is kept as built and resent as those bytes; only `correct` replaces it, on a message
Sonet never accepted, so that it is rebuilt from the corrected order (new bytes, same MessageId). The
refused version's bytes and the error that failed it are kept (`RefusedVersion`), never cleared.

| move                  | from                     | to      | who                    | what else                      |
| --------------------- | ------------------------ | ------- | ---------------------- | ------------------------------ |
| `enqueue`             | (new)                    | pending | intake, orders enqueue | order version 1; due at once   |
| `claim`               | pending, due             | sending | send run (the owner)   | attempts += 1; claim expires   |
|                       |                          |         |                        | unless the live run renews it  |
| `claim` (expired)     | sending, claim expired   | sending | any send run           | attempts += 1; same bytes      |
| `mark_sent`           | sending                  | sent    | send run               | 201 ACCEPTED, 200 DUPLICATE    |
| `mark_retry`          | sending                  | pending | send run               | 429, 5xx: due at               |
|                       |                          |         |                        | `next_attempt_at`              |
| `note_unknown`        | sending                  | sending | send run               | no answer: resent, same bytes, |
|                       |                          |         |                        | after the retry policy's       |
|                       |                          |         |                        | backoff (the claim expires     |
|                       |                          |         |                        | then: `next_attempt_at`)       |
| `mark_failed`         | sending                  | failed  | send run               | 400/409 final (code, message,  |
|                       |                          |         |                        | field); RETRY_EXHAUSTED        |
| `mark_failed` (build) | pending, sending         | failed  | intake, send run       | UNMAPPABLE, TOO_LARGE          |
| `release`             | sending                  | pending | send run               | not sent after all (401, 403): |
|                       |                          |         |                        | the attempt is not counted     |
| `resend`              | failed                   | pending | outbox resend          | same bytes; new retry window   |
| `correct`             | failed                   | pending | outbox correct         | new order version; XML rebuilt |
|                       |                          |         |                        | under the same MessageId; the  |
|                       |                          |         |                        | refused XML and error kept     |
| `settle`              | pending, sending, failed | sent    | outbox reconcile       | a lookup found it in Sonet     |

`sent` is final: a sent message is never changed, resent or corrected. The one tolerated repeat is
`mark_sent`/`settle` of a sent message with the same Sonet order number (two runs that both got the
answer, after a claim expired): it changes nothing. `record_built` stores the XML of a pending or
sending message once; the same bytes again change nothing, other bytes are refused. Every move is
recorded as an `Event` naming its actor (a run id, a CLI command, "intake").

A claim is short (seconds) and renewed by the live send run that holds it (`Outbox.renew_claims`, no
event: nothing moves), so a killed run's messages are claimable again seconds later. A lost answer
(timeout, broken connection) is settled by sending the same bytes again: the message stays `sending`
(its outcome is not known) with its claim expiring at the retry time the sender chose, the same
backoff as a transient error, and Sonet's DUPLICATE answer settles it. The last transient
error stays on a pending message for operators. `first_attempt_at` (set by the first claim after
enqueue, resend or correct) is where the caller's retry window starts; past it the caller marks the
message failed with RETRY_EXHAUSTED.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class State(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


PENDING, SENDING, SENT, FAILED = State.PENDING, State.SENDING, State.SENT, State.FAILED

#: The integration's own error codes (Sonet's codes, `SCHEMA`, `UNKNOWN_ITEM`, ..., pass through as sent).
UNMAPPABLE, TOO_LARGE, RETRY_EXHAUSTED = "UNMAPPABLE", "TOO_LARGE", "RETRY_EXHAUSTED"
BUILD_CODES = frozenset({UNMAPPABLE, TOO_LARGE})


class Move(StrEnum):
    ENQUEUE = "enqueue"
    CLAIM = "claim"
    RECLAIM = "claim (expired)"
    BUILT = "record_built"
    SENT = "mark_sent"
    RETRY = "mark_retry"
    NO_ANSWER = "note_unknown"
    FAIL = "mark_failed"
    FAIL_BUILD = "mark_failed (build)"
    RELEASE = "release"
    RESEND = "resend"
    CORRECT = "correct"
    SETTLE = "settle"


#: move -> (the states it may start from, the state it ends in; None: the state does not change).
TRANSITIONS: dict[Move, tuple[frozenset[State], State | None]] = {
    Move.ENQUEUE: (frozenset(), PENDING),
    Move.CLAIM: (frozenset({PENDING}), SENDING),
    Move.RECLAIM: (frozenset({SENDING}), SENDING),
    Move.BUILT: (frozenset({PENDING, SENDING}), None),
    Move.SENT: (frozenset({SENDING}), SENT),
    Move.RETRY: (frozenset({SENDING}), PENDING),
    Move.NO_ANSWER: (frozenset({SENDING}), None),
    Move.FAIL: (frozenset({SENDING}), FAILED),
    Move.FAIL_BUILD: (frozenset({PENDING, SENDING}), FAILED),
    Move.RELEASE: (frozenset({SENDING}), PENDING),
    Move.RESEND: (frozenset({FAILED}), PENDING),
    Move.CORRECT: (frozenset({FAILED}), PENDING),
    Move.SETTLE: (frozenset({PENDING, SENDING, FAILED}), SENT),
}


class OutboxError(RuntimeError):
    """A move the state machine refuses, naming the message, its state and the move."""

    def __init__(self, message_id: str, state: State | None, move: Move | str, why: str = "") -> None:
        where = f"is {state}" if state else "does not exist"
        text = f"message {message_id} {where}: {move} refused"
        super().__init__(f"{text} ({why})" if why else text)
        self.message_id, self.state, self.move = message_id, state, move


class UnknownMessage(OutboxError):
    def __init__(self, message_id: str, move: Move | str) -> None:
        super().__init__(message_id, None, move)


class OrderConflict(Exception):
    """The tenant already has this orderNumber with other content (HTTP 409 at the intake)."""

    def __init__(self, tenant: str, order_number: str, message_id: str) -> None:
        super().__init__(
            f"tenant {tenant!r} already has order {order_number!r} with other content (message {message_id})"
        )
        self.tenant, self.order_number, self.message_id = tenant, order_number, message_id


def check_move(message_id: str, state: State | None, move: Move) -> State:
    """The state `move` leads to from `state`, or `OutboxError` when the table has no such move."""
    if state is None:
        raise UnknownMessage(message_id, move)
    sources, target = TRANSITIONS[move]
    if state not in sources:
        why = (
            "a sent message is never changed or resent" if state == SENT else f"only from {', '.join(sorted(sources))}"
        )
        raise OutboxError(message_id, state, move, why)
    return target or state


def check_owner(message: Message, move: Move, owner: str | None) -> None:
    """A sender that names itself may only move a message it holds the claim of."""
    if owner is not None and message.claimed_by != owner:
        why = f"claimed by {message.claimed_by or 'nobody'}, not by {owner}"
        raise OutboxError(message.message_id, message.state, move, why)


def repeats_sent(message: Message, sonet_order_number: str, move: Move) -> bool:
    """True when `message` is sent already as this Sonet order (a repeat that changes nothing); a
    sent message with another Sonet order number refuses the move."""
    if message.state != SENT:
        return False
    if message.sonet_order_number == sonet_order_number:
        return True
    why = f"sent already as Sonet order {message.sonet_order_number}, not {sonet_order_number}"
    raise OutboxError(message.message_id, SENT, move, why)


@dataclass(frozen=True)
class ErrorInfo:
    code: str
    message: str
    field: str | None = None


@dataclass(frozen=True)
class Message:
    message_id: str
    tenant: str
    order_number: str
    state: State
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    error: ErrorInfo | None
    sonet_order_number: str | None
    version: int
    order: dict[str, Any] = field(repr=False)
    order_hash: str
    xml: bytes | None = field(repr=False)
    claimed_by: str | None
    claim_expires_at: datetime | None
    #: When the current series of attempts began (first claim since enqueue, resend or correct): the
    #: start of the retry window. None until claimed.
    first_attempt_at: datetime | None = None
    #: The order's lines not at the buyer's price when it was taken (`intake/price_gate.py`, tenant
    #: setting `order_prices.mismatch: flag`), JSON-ready; None: none found (or prices not known).
    price_mismatches: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class RefusedVersion:
    """What a failed message was when `correct` replaced its order: that order version's SalesOrder XML
    as sent (None when it was never built: UNMAPPABLE, TOO_LARGE), the error that failed it, its attempts."""

    message_id: str
    version: int
    xml: bytes | None = field(repr=False)
    error: ErrorInfo | None
    attempts: int
    failed_at: datetime
    corrected_at: datetime
    actor: str


@dataclass(frozen=True)
class Event:
    message_id: str
    at: datetime
    from_state: State | None
    to_state: State
    actor: str
    reason: str


@dataclass(frozen=True)
class Enqueued:
    message_id: str
    state: State
    created: bool


@dataclass(frozen=True)
class Selection:
    """Which failed messages `resend` takes: given ids, a tenant's order numbers, or all failed with a code."""

    message_ids: tuple[str, ...] = ()
    order_numbers: tuple[str, ...] = ()
    tenant: str | None = None
    code: str | None = None

    def __post_init__(self) -> None:
        kinds = sum(map(bool, (self.message_ids, self.order_numbers, self.code)))
        if kinds != 1:
            raise ValueError("select by message ids, by order numbers, or by an error code: exactly one")
        if self.order_numbers and not self.tenant:
            raise ValueError("order numbers are per tenant: name the tenant")

    @classmethod
    def ids(cls, *message_ids: str) -> Selection:
        return cls(message_ids=tuple(message_ids))

    @classmethod
    def orders(cls, tenant: str, *order_numbers: str) -> Selection:
        return cls(order_numbers=tuple(order_numbers), tenant=tenant)

    @classmethod
    def failed_with(cls, code: str, tenant: str | None = None) -> Selection:
        return cls(code=code, tenant=tenant)


def order_number_of(order: dict[str, Any]) -> str:
    number = order.get("orderNumber") if isinstance(order, dict) else None
    if not isinstance(number, str) or not number:
        raise ValueError("an order needs a non-empty string orderNumber")
    return number


# `json.dumps` with these options, without building an encoder per call (the intake's hot path).
_as_received = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_canonical = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode


def order_text(order: dict[str, Any]) -> str:
    """The order as stored: JSON with its keys in the order received (variant attributes keep theirs)."""
    return _as_received(order)


def order_hash(order: dict[str, Any]) -> str:
    """The content hash of an order: SHA-256 of its canonical JSON (sorted keys, no whitespace)."""
    return hashlib.sha256(_canonical(order).encode()).hexdigest()


def aware(instant: datetime) -> datetime:
    """`instant` in UTC; a naive datetime is refused (an instant needs an offset)."""
    if instant.tzinfo is None:
        raise ValueError(f"naive datetime {instant!r}: an instant needs an offset")
    return instant.astimezone(UTC)


def format_instant(instant: datetime | None) -> str | None:
    """`2026-11-28T04:38:00.123Z`: UTC, `Z`, milliseconds."""
    if instant is None:
        return None
    utc = aware(instant)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def to_json(message: Message) -> dict[str, Any]:
    """One line of `outbox list --json` (conventions.md), plus the version, the due time and the claim."""
    error = message.error
    return {
        "message_id": message.message_id,
        "tenant": message.tenant,
        "order_number": message.order_number,
        "state": str(message.state),
        "attempts": message.attempts,
        "sonet_order_number": message.sonet_order_number,
        "error": {"code": error.code, "message": error.message, "field": error.field} if error else None,
        "created_at": format_instant(message.created_at),
        "updated_at": format_instant(message.updated_at),
        "sent_at": format_instant(message.sent_at),
        "next_attempt_at": format_instant(message.next_attempt_at),
        "version": message.version,
        "claimed_by": message.claimed_by,
        "claim_expires_at": format_instant(message.claim_expires_at),
        "price_mismatches": message.price_mismatches,
    }
