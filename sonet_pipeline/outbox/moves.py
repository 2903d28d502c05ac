"""What each outbox operation does inside its one transaction, the same on every backend.

Each function takes an open transaction (`rows.Tx`) and, where it reads a row it will change, the
backend's lock clause (PostgreSQL: `FOR UPDATE`; SQLite: none, its write transaction excludes every
other writer). The checks come from `model`; the SQL from `rows`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sonet_pipeline.outbox import rows
from sonet_pipeline.outbox.model import (
    FAILED,
    PENDING,
    SENDING,
    SENT,
    Enqueued,
    Message,
    Move,
    OrderConflict,
    OutboxError,
    State,
    UnknownMessage,
    check_move,
    check_owner,
    format_instant,
    order_hash,
    order_text,
    repeats_sent,
)
from sonet_pipeline.outbox.rows import Tx

NO_ERROR = {"error_code": None, "error_message": None, "error_field": None}
NO_CLAIM = {"claimed_by": None, "claim_expires_at": None}

#: An order ready to store: (orderNumber, content hash, the order).
Prepared = tuple[str, str, dict[str, Any]]
#: An error to store a new order with as failed: `code`, `message`, `field` (None or a JSON path).
OrderError = Mapping[str, str | None]
#: An order's lines not at the buyer's price (`intake/price_gate.price_notes`), JSON-ready.
PriceFlags = list[dict[str, Any]]


def enqueue(
    tx: Tx,
    tenant: str,
    prepared: list[Prepared],
    actor: str,
    now: datetime,
    failures: Sequence[OrderError | None] | None = None,
    price_flags: Sequence[PriceFlags | None] | None = None,
) -> list[Enqueued | OrderConflict]:
    """New orders become pending messages; an orderNumber the tenant has is that message when the
    content equals one of its versions, else a conflict. Repeats within `prepared` count too.
    `failures` (one per order, or None): a new message with an error is failed at once with it
    (`mark_failed (build)`, in this transaction: it is never claimable). `price_flags` (one per order,
    or None): a new message with flags keeps them (`price_flags`), its enqueue event says so.

    The intake's hot path: one query for the known numbers, `now` converted once, the order's text
    made only for a new message, and rows built as the driver takes them (`Tx.many_plain`)."""
    known: dict[str, tuple[str, State, set[str]]] = {}  # order number -> message id, state, version hashes
    numbers = list({number for number, _, _ in prepared})
    for number, message_id, state, digest in tx.all_in(rows.EXISTING, (tenant,), numbers):
        known.setdefault(number, (message_id, State(state), set()))[2].add(digest)
    unknown = [number for number in numbers if number not in known]
    if unknown:  # an order whose sent message retention removed is still that message
        for number, message_id, digest in tx.all_in(rows.PRUNED_EXISTING, (tenant,), unknown):
            known.setdefault(number, (message_id, SENT, set()))[2].add(digest)
    stamp, pending = tx.stamp(now), PENDING.value  # as the driver takes them
    results: list[Enqueued | OrderConflict] = []
    messages, versions, events = [], [], []
    failing: list[tuple[str, OrderError]] = []
    errors = failures if failures is not None else [None] * len(prepared)
    flagged = price_flags if price_flags is not None else [None] * len(prepared)
    flag_rows: list[tuple[str, str]] = []
    ids = new_message_ids(len(prepared))
    for (number, digest, order), new_id, failure, flags in zip(prepared, ids, errors, flagged, strict=True):
        if number in known:
            message_id, state, digests = known[number]
            same = digest in digests
            results.append(Enqueued(message_id, state, False) if same else OrderConflict(tenant, number, message_id))
            continue
        message_id = new_id
        known[number] = (message_id, PENDING, {digest})
        messages.append((message_id, tenant, number, stamp, stamp, stamp))
        versions.append((message_id, 1, order_text(order), digest, stamp, actor))
        if flags:
            flag_rows.append((message_id, json.dumps(flags, ensure_ascii=False, separators=(",", ":"))))
            fields = ", ".join(str(flag.get("field")) for flag in flags)
            events.append((message_id, stamp, None, pending, actor, f"enqueued; price mismatch at {fields}"))
        else:
            events.append((message_id, stamp, None, pending, actor, "enqueued"))
        if failure is None:
            results.append(Enqueued(message_id, PENDING, True))
        else:
            known[number] = (message_id, FAILED, {digest})
            failing.append((message_id, failure))
            results.append(Enqueued(message_id, FAILED, True))
    if messages:
        tx.many_plain(
            (rows.INSERT_TENANT, [(tenant,)]),
            (rows.INSERT_MESSAGE, messages),
            (rows.INSERT_VERSION, versions),
            (rows.INSERT_EVENT, events),
            *([(rows.INSERT_PRICE_FLAGS, flag_rows)] if flag_rows else []),
        )
    for message_id, failure in failing:
        target = check_move(message_id, PENDING, Move.FAIL_BUILD)
        field = failure.get("field")
        reason = f"{failure['code']}: {failure['message']}" + (f" at {field}" if field else "")
        error = {"error_code": failure["code"], "error_message": failure["message"], "error_field": field}
        columns = {"state": target, "updated_at": now, **error}
        tx.execute(rows.update(list(columns)), (*columns.values(), message_id))
        tx.execute(rows.INSERT_EVENT, (message_id, now, PENDING, target, actor, reason))
    return results


def new_message_ids(count: int) -> list[str]:
    """`count` new MessageIds: random UUID4s as `str(uuid.uuid4())` gives them, from one read of the
    system's randomness (about a quarter of the cost of one `uuid4` each)."""
    raw = bytearray(os.urandom(16 * count))
    for start in range(0, 16 * count, 16):
        raw[start + 6] = raw[start + 6] & 0x0F | 0x40  # version 4
        raw[start + 8] = raw[start + 8] & 0x3F | 0x80  # variant RFC 4122
    h = raw.hex()
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-{h[i + 12 : i + 16]}-{h[i + 16 : i + 20]}-{h[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]


def claim(tx: Tx, tenant: str, limit: int, owner: str, now: datetime, until: datetime, lock: str) -> list[Message]:
    """Claimable messages of `tenant` to `sending` for `owner` until `until`: expired claims first,
    then pending ones, each oldest due first."""
    found = tx.all(rows.EXPIRED + lock, (tenant, now, limit))
    if len(found) < limit:
        found += tx.all(rows.DUE + lock, (tenant, now, limit - len(found)))
    due = [rows.message_from_row(row) for row in found]
    tx.many(rows.CLAIM, [(owner, until, now, now, m.message_id) for m in due])
    tx.many(rows.INSERT_EVENT, [(m.message_id, now, m.state, SENDING, owner, _claim_reason(m)) for m in due])
    return [
        replace(
            m,
            attempts=m.attempts + 1,
            first_attempt_at=m.first_attempt_at or now,
            state=SENDING,
            claimed_by=owner,
            claim_expires_at=until,
            updated_at=now,
        )
        for m in due
    ]


def _claim_reason(message: Message) -> str:
    if message.state == SENDING:
        expired = format_instant(message.claim_expires_at)
        return f"claim of {message.claimed_by} expired at {expired}: to be resent with the same bytes"
    return f"claimed for attempt {message.attempts + 1}"


def locked(tx: Tx, message_id: str, move: Move, lock: str) -> Message:
    """The message, its row locked for this transaction; `UnknownMessage` when there is none."""
    row = tx.one(rows.SELECT_ONE + lock, (message_id,))
    if row is None:
        raise UnknownMessage(message_id, move)
    return rows.message_from_row(row)


def locked_order(tx: Tx, tenant: str, order_number: str, move: Move, lock: str) -> Message:
    row = tx.one(rows.SELECT_BY_ORDER + lock, (tenant, order_number))
    if row is None:
        raise UnknownMessage(f"for order {tenant}/{order_number}", move)
    return rows.message_from_row(row)


def apply(
    tx: Tx,
    message: Message,
    move: Move,
    *,
    actor: str,
    now: datetime,
    reason: str,
    owner: str | None = None,
    settled_as: str | None = None,
    **columns: Any,
) -> None:
    """Check `move` on `message` (the table; the claim's owner when one is named), then make it.
    `settled_as`: the Sonet order number of a move to `sent`; repeating it changes nothing."""
    if settled_as is not None and repeats_sent(message, settled_as, move):
        return
    target = check_move(message.message_id, message.state, move)
    check_owner(message, move, owner)
    set_state(tx, message, target, actor=actor, now=now, reason=reason, **columns)


def set_state(tx: Tx, message: Message, to: State, *, actor: str, now: datetime, reason: str, **columns: Any) -> None:
    """Write the move: the state, `updated_at` and `columns`; then its event."""
    columns = {"state": to, "updated_at": now, **columns}
    tx.execute(rows.update(list(columns)), (*columns.values(), message.message_id))
    tx.execute(rows.INSERT_EVENT, (message.message_id, now, message.state, to, actor, reason))


def record_built(tx: Tx, message: Message, xml: bytes, now: datetime, owner: str | None) -> None:
    """Store the XML once; the same bytes again change nothing, other bytes are refused."""
    if message.xml is not None:
        if message.xml == xml:
            return
        why = "built already: a message is resent as built, never rebuilt"
        raise OutboxError(message.message_id, message.state, Move.BUILT, why)
    check_move(message.message_id, message.state, Move.BUILT)
    check_owner(message, Move.BUILT, owner)
    tx.execute(rows.update(["xml", "updated_at"]), (xml, now, message.message_id))


def release(
    tx: Tx, message: Message, *, actor: str, now: datetime, reason: str, due: datetime | None, owner: str | None
) -> None:
    """Back to pending with the attempt uncounted (and no retry window begun if it was the first)."""
    attempts = max(message.attempts - 1, 0)
    first = message.first_attempt_at if attempts else None
    due = due or message.next_attempt_at
    columns: dict[str, Any] = {"attempts": attempts, "next_attempt_at": due, "first_attempt_at": first, **NO_CLAIM}
    apply(tx, message, Move.RELEASE, actor=actor, now=now, reason=reason, owner=owner, **columns)


def resend(tx: Tx, messages: list[Message], *, actor: str, now: datetime) -> None:
    """All of `messages` back to pending with their bytes, or none of them (the first refusal raises)."""
    for message in messages:
        check_move(message.message_id, message.state, Move.RESEND)
    for message in messages:
        reason = f"resent after {message.error.code if message.error else 'no error'}: same bytes"
        columns = {"next_attempt_at": now, "first_attempt_at": None, **NO_ERROR, **NO_CLAIM}
        set_state(tx, message, PENDING, actor=actor, now=now, reason=reason, **columns)


def correct(tx: Tx, message: Message, order: dict[str, Any], number: str, *, actor: str, now: datetime) -> None:
    """A new order version, back to pending; the refused version's XML and error kept (`refused_versions`),
    the message's XML cleared so that it is rebuilt."""
    check_move(message.message_id, message.state, Move.CORRECT)
    if number != message.order_number:
        why = f"the orderNumber cannot change ({message.order_number!r} to {number!r})"
        raise OutboxError(message.message_id, message.state, Move.CORRECT, why)
    error = message.error
    kept = (error.code, error.message, error.field) if error else (None, None, None)
    tx.execute(
        rows.INSERT_REFUSED,
        (message.message_id, message.version, message.xml, *kept, message.attempts, message.updated_at, now, actor),
    )
    version = message.version + 1
    tx.execute(rows.INSERT_VERSION, (message.message_id, version, order_text(order), order_hash(order), now, actor))
    reason = f"corrected: order version {version}, to be rebuilt under the same MessageId"
    columns = {"version": version, "xml": None, "next_attempt_at": now, "first_attempt_at": None}
    set_state(tx, message, PENDING, actor=actor, now=now, reason=reason, **columns, **NO_ERROR, **NO_CLAIM)


def prune_settled(tx: Tx, tenant: str, before: datetime, limit: int, now: datetime, lock: str) -> int:
    """Up to `limit` of the tenant's messages sent before `before` removed, oldest first, each leaving
    its `pruned_orders` rows; how many went."""
    found = [message_id for (message_id,) in tx.all(rows.SETTLED + lock, (tenant, before, limit))]
    if found:
        tx.many(rows.KEEP_PRUNED, [(now, message_id) for message_id in found])
        for statement in rows.DELETE_MESSAGE:
            tx.many(statement, [(message_id,) for message_id in found])
    return len(found)
