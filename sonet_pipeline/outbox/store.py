"""The outbox store: one interface and one set of semantics over two backends (SQLite, PostgreSQL).

`Outbox` is the whole API. Each write runs in one transaction of its backend and is committed when
the method returns; what happens inside is in `moves` (the same for both backends), checked by the
state machine of `model`. A backend supplies connections, a write transaction that keeps concurrent
claimers apart (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: row locks, `SKIP LOCKED` for claims) and its
DDL. A refused move raises `OutboxError` and changes nothing.
"""

from __future__ import annotations

import builtins
import contextlib
import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self

from sonet_pipeline.outbox import moves, rows
from sonet_pipeline.outbox.model import (
    BUILD_CODES,
    PENDING,
    Enqueued,
    Event,
    Message,
    Move,
    OrderConflict,
    RefusedVersion,
    Selection,
    State,
    aware,
    format_instant,
    order_hash,
    order_number_of,
)
from sonet_pipeline.outbox.moves import NO_CLAIM, NO_ERROR
from sonet_pipeline.outbox.rows import Tx

DEFAULT_SCHEMA = "sonet_outbox"


class Outbox(ABC):
    """Durable web-shop orders on their way to Sonet. Safe for threads and for several processes.

    Every method takes the instant `now` (timezone-aware) from its caller's clock, and every move an
    `actor` recorded with it: a run id, a CLI command, "intake".
    """

    #: Appended to a one-message SELECT in a write transaction to lock its row.
    lock_one = ""
    #: Appended to the claim SELECT so that concurrent claimers skip each other's rows.
    lock_claimable = ""
    unique_violation: type[Exception] = Exception

    @abstractmethod
    def _write(self) -> contextlib.AbstractContextManager[Tx]:
        """A write transaction: committed on leaving the block, rolled back on an exception."""

    @abstractmethod
    def _read(self) -> contextlib.AbstractContextManager[Tx]: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    # -- intake -----------------------------------------------------------------------------------

    def enqueue(self, tenant: str, order: dict[str, Any], *, actor: str, now: datetime) -> Enqueued:
        """Store an order as a new pending message, durably, or find it again: the same (tenant,
        orderNumber) with the content of any of its versions is that message (`created` False);
        other content raises `OrderConflict`."""
        (result,) = self.enqueue_many(tenant, [order], actor=actor, now=now)
        if isinstance(result, OrderConflict):
            raise result
        return result

    def enqueue_many(
        self,
        tenant: str,
        orders: Sequence[dict[str, Any]],
        *,
        actor: str,
        now: datetime,
        failures: Sequence[moves.OrderError | None] | None = None,
        price_flags: Sequence[moves.PriceFlags | None] | None = None,
    ) -> list[Enqueued | OrderConflict]:
        """`enqueue` for each order in one transaction (one commit): an answer per order, in order.

        `failures`, one per order: a new order with an error (`code`, `message`, `field`) is stored
        `failed` with it in the same transaction, so no send run ever claims it (the intake keeps an
        order the rights refuse, NOT_ALLOWED, for an operator this way). `price_flags`, one per order:
        the lines of a new order not at the buyer's price, kept with the message (`Message.price_mismatches`)."""
        if not tenant:
            raise ValueError("a tenant is needed")
        if failures is not None and len(failures) != len(orders):
            raise ValueError(f"{len(failures)} failures for {len(orders)} orders")
        if price_flags is not None and len(price_flags) != len(orders):
            raise ValueError(f"{len(price_flags)} price flags for {len(orders)} orders")
        now = aware(now)
        # The hash now, outside the transaction; the text as received only for a new message (`moves`).
        ready = [(order_number_of(order), order_hash(order), order) for order in orders]
        for attempt in range(3):
            try:
                with self._write() as tx:
                    return moves.enqueue(tx, tenant, ready, actor, now, failures, price_flags) if ready else []
            except self.unique_violation:  # a concurrent enqueue of the same new order won: look again
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    # -- sender -----------------------------------------------------------------------------------

    def claim(self, tenant: str, *, now: datetime, limit: int, owner: str, claim_seconds: float) -> list[Message]:
        """Move up to `limit` due messages of `tenant` to `sending` for `owner` until now + claim_seconds:
        first sending ones whose claim expired (a killed run; a lost answer whose retry time came: to be
        resent with the same bytes), then pending ones whose `next_attempt_at` has come; oldest due
        first; attempts += 1. Concurrent claimers, threads or processes, never get the same message.
        A live run keeps its claims with `renew_claims`."""
        if limit <= 0:
            return []
        now = aware(now)
        with self._write() as tx:
            until = now + timedelta(seconds=claim_seconds)
            return moves.claim(tx, tenant, limit, owner, now, until, self.lock_claimable)

    def renew_claims(
        self, message_ids: Iterable[str], *, owner: str, now: datetime, claim_seconds: float
    ) -> builtins.list[str]:
        """Extend to now + claim_seconds the claims `owner` still holds among `message_ids` (a live send
        run's heartbeat); the ids renewed. A claim another run took after it expired is not touched.
        Nothing moves: no event, `updated_at` unchanged."""
        ids = sorted(set(message_ids))
        if not ids:
            return []
        until = aware(now) + timedelta(seconds=claim_seconds)
        with self._write() as tx:
            held = sorted(message_id for (message_id,) in tx.all_in(rows.HELD, (owner,), ids))
            tx.many(rows.RENEW, [(until, message_id, owner) for message_id in held])
        return held

    def record_built(self, message_id: str, xml: bytes, *, now: datetime, owner: str | None = None) -> None:
        """Keep the message's SalesOrder XML as built: it is sent, and resent, as these bytes."""
        self.record_built_many([(message_id, xml)], now=now, owner=owner)

    def record_built_many(self, built: Sequence[tuple[str, bytes]], *, now: datetime, owner: str | None = None) -> None:
        """`record_built` for each (message id, XML) in one transaction: all of them, or none when one
        is refused."""
        if not built:
            return
        now = aware(now)
        with self._write() as tx:
            for message_id, xml in built:
                message = moves.locked(tx, message_id, Move.BUILT, self.lock_one)
                moves.record_built(tx, message, bytes(xml), now, owner)

    def mark_sent(
        self,
        message_id: str,
        *,
        sonet_order_number: str,
        duplicate: bool,
        actor: str,
        now: datetime,
        owner: str | None = None,
    ) -> None:
        """Sonet answered 201 ACCEPTED or 200 DUPLICATE: sent, for good. `owner`, when given, must
        hold the claim; a repeat with the same Sonet order number changes nothing."""
        reason = f"{'200 DUPLICATE' if duplicate else '201 ACCEPTED'}: Sonet order {sonet_order_number}"
        columns = {"sent_at": aware(now), "sonet_order_number": sonet_order_number, **NO_ERROR, **NO_CLAIM}
        how = {"actor": actor, "reason": reason, "owner": owner, "settled_as": sonet_order_number}
        self._move(message_id, Move.SENT, now, **how, **columns)

    def mark_retry(
        self,
        message_id: str,
        *,
        next_attempt_at: datetime,
        code: str,
        message: str,
        actor: str,
        now: datetime,
        owner: str | None = None,
    ) -> None:
        """A transient answer (429, 5xx) or a broken connection: pending again, due at `next_attempt_at`,
        with this error kept for operators until the message is sent or fails."""
        columns = {"next_attempt_at": aware(next_attempt_at), "error_code": code, "error_message": message}
        reason = f"{code}: {message}; next attempt at {format_instant(next_attempt_at)}"
        how = {"actor": actor, "reason": reason, "owner": owner}
        self._move(message_id, Move.RETRY, now, **how, **columns, error_field=None, **NO_CLAIM)

    def note_unknown(
        self,
        message_id: str,
        *,
        code: str,
        message: str,
        retry_at: datetime,
        actor: str,
        now: datetime,
        owner: str | None = None,
    ) -> None:
        """No answer (a broken connection, a timeout): the message may have arrived. It stays `sending`
        (conventions.md), keeps the error for operators, and is due again at `retry_at` (the retry
        policy's backoff): its claim expires then, and its `next_attempt_at` says when, so that the same
        run or a later one claims it again and resends the same bytes."""
        reason = f"{code}: {message}; outcome unknown, same bytes again after {format_instant(retry_at)}"
        columns = {
            "error_code": code,
            "error_message": message,
            "error_field": None,
            "claim_expires_at": aware(retry_at),
            "next_attempt_at": aware(retry_at),
        }
        self._move(message_id, Move.NO_ANSWER, now, actor=actor, reason=reason, owner=owner, **columns)

    def mark_failed(
        self,
        message_id: str,
        *,
        code: str,
        message: str,
        field: str | None = None,
        actor: str,
        now: datetime,
        owner: str | None = None,
    ) -> None:
        """A final answer (400, 409), RETRY_EXHAUSTED, or a message that cannot be built (UNMAPPABLE,
        TOO_LARGE: these also from `pending`): failed, for an operator."""
        move = Move.FAIL_BUILD if code in BUILD_CODES else Move.FAIL
        error = {"error_code": code, "error_message": message, "error_field": field}
        reason = f"{code}: {message}" + (f" at {field}" if field else "")
        self._move(message_id, move, now, actor=actor, reason=reason, owner=owner, **error, **NO_CLAIM)

    def release(
        self,
        message_id: str,
        *,
        actor: str,
        now: datetime,
        reason: str = "released unsent",
        next_attempt_at: datetime | None = None,
        owner: str | None = None,
    ) -> None:
        """Back to pending with the attempt uncounted: the run stopped before sending it (401, 403)."""
        due = aware(next_attempt_at) if next_attempt_at else None
        with self._write() as tx:
            message = moves.locked(tx, message_id, Move.RELEASE, self.lock_one)
            moves.release(tx, message, actor=actor, now=aware(now), reason=reason, due=due, owner=owner)

    def settle(self, message_id: str, *, sonet_order_number: str, actor: str, now: datetime) -> None:
        """A lookup found the message's order in Sonet: sent, whatever the outbox thought."""
        reason = f"found in Sonet as order {sonet_order_number}"
        columns = {"sent_at": aware(now), "sonet_order_number": sonet_order_number, **NO_ERROR, **NO_CLAIM}
        self._move(message_id, Move.SETTLE, now, actor=actor, reason=reason, settled_as=sonet_order_number, **columns)

    # -- operators --------------------------------------------------------------------------------

    def resend(self, selection: Selection, *, actor: str, now: datetime) -> list[str]:
        """Failed messages back to pending with the same bytes, all or none (a sent one, or one not
        failed, refuses the lot); their ids, in the order selected."""
        with self._write() as tx:
            if selection.code:
                where, params = " WHERE m.state = 'failed' AND m.error_code = ?", [selection.code]
                if selection.tenant:
                    where, params = where + " AND m.tenant = ?", [*params, selection.tenant]
                query = rows.SELECT_MESSAGES + where + rows.ORDERED + self.lock_one
                found = [rows.message_from_row(row) for row in tx.all(query, params)]
            elif selection.message_ids:
                ids = dict.fromkeys(selection.message_ids)
                found = [moves.locked(tx, i, Move.RESEND, self.lock_one) for i in ids]
            else:
                tenant, numbers = selection.tenant or "", dict.fromkeys(selection.order_numbers)
                found = [moves.locked_order(tx, tenant, n, Move.RESEND, self.lock_one) for n in numbers]
            moves.resend(tx, found, actor=actor, now=aware(now))
        return [message.message_id for message in found]

    def correct(self, message_id: str, new_order: dict[str, Any], *, actor: str, now: datetime) -> Message:
        """Replace a failed message's order by a new version (earlier ones kept), back to pending: its
        XML is rebuilt under the same MessageId (allowed: Sonet never accepted the message). The refused
        version's XML and error stay readable (`refused_versions`). The orderNumber cannot change; a
        sent message cannot be corrected."""
        number = order_number_of(new_order)
        with self._write() as tx:
            message = moves.locked(tx, message_id, Move.CORRECT, self.lock_one)
            moves.correct(tx, message, new_order, number, actor=actor, now=aware(now))
            row = tx.one(rows.SELECT_ONE, (message_id,))
        assert row is not None
        return rows.message_from_row(row)

    # -- retention --------------------------------------------------------------------------------

    def prune_settled(
        self, tenant: str, before: datetime, *, now: datetime, dry_run: bool = False, batch_size: int = 500
    ) -> int:
        """Remove the tenant's messages Sonet accepted (`sent`) before `before`, with their versions and
        events, in transactions of `batch_size` messages (writers wait at most one batch); how many
        went, or with `dry_run` would go (nothing changes). Pending, sending and failed messages are
        never touched. A removed message leaves its order number, version hashes, MessageId and Sonet
        order number (`pruned_orders`), so the same order enqueued again is that sent message and
        other content under its number a conflict, as before."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        before, now = aware(before), aware(now)
        if dry_run:
            with self._read() as tx:
                row = tx.one(rows.COUNT_SETTLED, (tenant, before))
            return int(row[0]) if row else 0
        removed = 0
        while True:
            with self._write() as tx:
                count = moves.prune_settled(tx, tenant, before, batch_size, now, self.lock_claimable)
            removed += count
            if count < batch_size:
                return removed

    def tenants(self) -> list[str]:
        """Every tenant that ever enqueued, by name."""
        with self._read() as tx:
            return [name for (name,) in tx.all(rows.TENANTS)]

    # -- reads ------------------------------------------------------------------------------------

    def get(self, message_id: str) -> Message | None:
        with self._read() as tx:
            row = tx.one(rows.SELECT_ONE, (message_id,))
        return rows.message_from_row(row) if row else None

    def find(self, tenant: str, order_number: str) -> Message | None:
        with self._read() as tx:
            row = tx.one(rows.SELECT_BY_ORDER, (tenant, order_number))
        return rows.message_from_row(row) if row else None

    def list(
        self,
        tenant: str | None = None,
        state: State | str | None = None,
        code: str | None = None,
        limit: int | None = None,
    ) -> list[Message]:
        """Messages, oldest first, of a tenant, in a state, with an error code (each filter optional)."""
        filters = {"m.tenant": tenant, "m.state": State(state) if state else None, "m.error_code": code}
        given = {column: value for column, value in filters.items() if value is not None}
        where = " WHERE " + " AND ".join(f"{column} = ?" for column in given) if given else ""
        query = rows.SELECT_MESSAGES + where + rows.ORDERED + ("" if limit is None else " LIMIT ?")
        with self._read() as tx:
            found = tx.all(query, [*given.values()] + ([] if limit is None else [limit]))
        return [rows.message_from_row(row) for row in found]

    def events(self, message_id: str) -> builtins.list[Event]:
        """Every move of the message, in order, with its actor and reason."""
        with self._read() as tx:
            return [rows.event_from_row(row) for row in tx.all(rows.SELECT_EVENTS, (message_id,))]

    def versions(self, message_id: str) -> builtins.list[dict[str, Any]]:
        """Every web-order version of the message, the first (as enqueued) first."""
        with self._read() as tx:
            return [json.loads(text) for (text,) in tx.all(rows.SELECT_VERSIONS, (message_id,))]

    def refused_versions(self, message_id: str) -> builtins.list[RefusedVersion]:
        """Every order version `correct` replaced, with its SalesOrder XML as sent and the error that
        failed it, the first first."""
        with self._read() as tx:
            return [rows.refused_from_row(row) for row in tx.all(rows.SELECT_REFUSED, (message_id,))]

    def status(self, now: datetime, tenants: Iterable[str] = ()) -> dict[str, Any]:
        """`outbox status --json`: per tenant (also those in `tenants` with no message yet) the count
        per state and the age in seconds of the oldest pending message, or null."""
        now = aware(now)
        with self._read() as tx:
            counts, known = tx.all(rows.COUNTS), [name for (name,) in tx.all(rows.TENANTS)]
        blank: dict[str, int | float | None] = {
            "pending": 0,
            "sending": 0,
            "sent": 0,
            "failed": 0,
            "oldest_pending_age_seconds": None,
        }
        result = {name: dict(blank) for name in sorted({*known, *tenants})}
        for tenant, state, count, oldest in counts:
            entry = result.setdefault(tenant, dict(blank))
            entry[state] = count
            if state == PENDING:
                entry["oldest_pending_age_seconds"] = rows.age(now, oldest)
        return {"tenants": result}

    def due_tenants(self, now: datetime) -> builtins.list[str]:
        """Tenants with due work (pending and due, or an expired claim): cheap enough for a sensor."""
        now = aware(now)
        with self._read() as tx:
            return [name for (name,) in tx.all(rows.DUE_TENANTS, (now, now))]

    def backlog(self, tenant: str, now: datetime) -> tuple[int, float | None]:
        """How many of the tenant's messages wait for Sonet (pending or sending), and the oldest's age."""
        with self._read() as tx:
            count, oldest = tx.one(rows.BACKLOG, (tenant,)) or (0, None)
        return count, rows.age(aware(now), oldest)

    def change_mark(self, tenant: str) -> str:
        """A mark that differs whenever one of the tenant's messages is added or moves (cheap: one scan)."""
        with self._read() as tx:
            row = tx.one(rows.CHANGE_MARK, (tenant,))
        count, latest, *sums = row or (0, None, 0, 0, 0, 0)
        since = rows.instant(latest)
        stamp = since.isoformat() if since is not None else "-"
        return "/".join([str(count), stamp, *(str(int(n)) for n in sums)])

    def _move(self, message_id: str, move: Move, now: datetime, **how: Any) -> None:
        """One message's move in one transaction: lock it, check the move, make it, record it."""
        with self._write() as tx:
            message = moves.locked(tx, message_id, move, self.lock_one)
            moves.apply(tx, message, move, now=aware(now), **how)
