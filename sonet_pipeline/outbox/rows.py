"""The SQL both outbox stores run, and rows back to `Message` and `Event`.

Tables (each backend has its own DDL with its own types, the same columns):
- `messages`: one row per message, its current state; unique by (tenant, order_number); `seq` keeps
  the order of arrival (ties of `created_at` inside a batch);
- `order_versions`: every web-order version of a message (1 at enqueue, one more per `correct`);
- `events`: every move, in order, with its actor and reason;
- `refused_versions`: what a corrected message had before `correct` replaced its order: the SalesOrder
  XML as sent (null when it was never built), the error that failed it (Sonet's code, message and
  field, or the integration's own), its attempts and when it failed;
- `price_flags`: a message whose order lines the intake found not at the buyer's price
  (`intake/price_gate.py`): the lines as JSON (each line, the given and the expected price and the
  price list line that set it); only flagged messages have a row;
- `tenants`: every tenant that ever enqueued (`due_tenants` probes the index once per tenant);
- `pruned_orders`: what is left of a sent message that retention removed (`Outbox.prune_settled`):
  its tenant, orderNumber, each version's hash, MessageId and Sonet order number, so that the same
  order arriving again is still that sent message (never a second order in Sonet), and other content
  under its number still a conflict.

Statements use `?` placeholders (the PostgreSQL store turns them into `%s`) and parameters only;
the only SQL composed at run time is from constant column names and, for a list of values, the
backend's test of a column against that list of parameters (`Tx.all_in`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Protocol

from sonet_pipeline.outbox.model import ErrorInfo, Event, Message, RefusedVersion, State


class Tx(Protocol):
    """One open transaction of a backend: `?` placeholders, parameters only."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None: ...

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def many(self, sql: str, params: Iterable[Sequence[Any]]) -> None: ...

    def stamp(self, instant: datetime) -> Any:
        """An aware instant as the backend stores it (SQLite: text; PostgreSQL: itself), for `many_plain`."""
        ...

    def many_plain(self, *batches: tuple[str, Sequence[Sequence[Any]]]) -> None:
        """`many` for each (statement, rows) in turn, every parameter as the driver takes it already
        (instants from `stamp`, no enums): no conversion per parameter; PostgreSQL sends all of them
        in one round trip."""
        ...

    def all_in(self, sql: str, params: Sequence[Any], values: Sequence[Any]) -> list[tuple[Any, ...]]:
        """The rows of `sql`, which ends with a column, where that column is one of `values` (SQLite:
        one query, `IN (...)`; PostgreSQL: one query per value, in one round trip)."""
        ...


_MESSAGE_COLUMNS = (
    "m.message_id, m.tenant, m.order_number, m.state, m.attempts, m.next_attempt_at, m.created_at, m.updated_at, "
    "m.sent_at, m.error_code, m.error_message, m.error_field, m.sonet_order_number, m.version, v.order_json, "
    "v.order_hash, m.xml, m.claimed_by, m.claim_expires_at, m.first_attempt_at, p.flags"
)
SELECT_MESSAGES = (
    f"SELECT {_MESSAGE_COLUMNS} FROM messages m "
    "JOIN order_versions v ON v.message_id = m.message_id AND v.version = m.version "
    "LEFT JOIN price_flags p ON p.message_id = m.message_id"
)
SELECT_ONE = SELECT_MESSAGES + " WHERE m.message_id = ?"
SELECT_BY_ORDER = SELECT_MESSAGES + " WHERE m.tenant = ? AND m.order_number = ?"
ORDERED = " ORDER BY m.created_at, m.seq"

#: Claimable work of one tenant, oldest due first (each walks the index `messages_due` in order):
#: sending messages whose claim expired, then pending messages whose next attempt has come.
EXPIRED = (
    SELECT_MESSAGES + " WHERE m.state = 'sending' AND m.tenant = ? AND m.claim_expires_at <= ? "
    "ORDER BY m.next_attempt_at, m.seq LIMIT ?"
)
DUE = (
    SELECT_MESSAGES + " WHERE m.state = 'pending' AND m.tenant = ? AND m.next_attempt_at <= ? "
    "ORDER BY m.next_attempt_at, m.seq LIMIT ?"
)
CLAIM = (
    "UPDATE messages SET state = 'sending', attempts = attempts + 1, claimed_by = ?, claim_expires_at = ?, "
    "updated_at = ?, first_attempt_at = COALESCE(first_attempt_at, ?) WHERE message_id = ?"
)
#: Which of some messages an owner still holds (`Tx.all_in` completes it with the list of ids), and
#: the renewal of one such claim: its expiry only (no event, no `updated_at`: nothing moved).
HELD = "SELECT message_id FROM messages WHERE state = 'sending' AND claimed_by = ? AND message_id"
RENEW = "UPDATE messages SET claim_expires_at = ? WHERE message_id = ? AND state = 'sending' AND claimed_by = ?"

#: Every version's hash of a tenant's messages with some order numbers (unique-index probes), for
#: `Tx.all_in` (the list of numbers completes the statement).
EXISTING = (
    "SELECT m.order_number, m.message_id, m.state, v.order_hash FROM messages m "
    "JOIN order_versions v ON v.message_id = m.message_id WHERE m.tenant = ? AND m.order_number"
)
INSERT_TENANT = "INSERT INTO tenants (name) VALUES (?) ON CONFLICT DO NOTHING"
INSERT_MESSAGE = (
    "INSERT INTO messages (message_id, tenant, order_number, state, attempts, next_attempt_at, created_at, "
    "updated_at, version) VALUES (?, ?, ?, 'pending', 0, ?, ?, ?, 1)"
)
INSERT_VERSION = (
    "INSERT INTO order_versions (message_id, version, order_json, order_hash, created_at, actor) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
INSERT_PRICE_FLAGS = "INSERT INTO price_flags (message_id, flags) VALUES (?, ?)"
INSERT_EVENT = "INSERT INTO events (message_id, at, from_state, to_state, actor, reason) VALUES (?, ?, ?, ?, ?, ?)"
SELECT_EVENTS = (
    "SELECT message_id, at, from_state, to_state, actor, reason FROM events WHERE message_id = ? ORDER BY id"
)
SELECT_VERSIONS = "SELECT order_json FROM order_versions WHERE message_id = ? ORDER BY version"
#: The refused version a correction replaces (a repeat of the same version changes nothing).
INSERT_REFUSED = (
    "INSERT INTO refused_versions (message_id, version, xml, error_code, error_message, error_field, attempts, "
    "failed_at, corrected_at, actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
SELECT_REFUSED = (
    "SELECT message_id, version, xml, error_code, error_message, error_field, attempts, failed_at, corrected_at, "
    "actor FROM refused_versions WHERE message_id = ? ORDER BY version"
)

#: The pruned messages' version hashes of a tenant's order numbers, for `Tx.all_in` (as `EXISTING`).
PRUNED_EXISTING = "SELECT order_number, message_id, order_hash FROM pruned_orders WHERE tenant = ? AND order_number"
#: A batch of a tenant's messages sent before an instant, oldest first (the partial index `messages_settled`).
SETTLED = (
    "SELECT m.message_id FROM messages m WHERE m.tenant = ? AND m.state = 'sent' AND m.sent_at < ? "
    "ORDER BY m.sent_at, m.seq LIMIT ?"
)
COUNT_SETTLED = "SELECT COUNT(*) FROM messages WHERE tenant = ? AND state = 'sent' AND sent_at < ?"
#: What stays of a pruned message: one row per version hash.
KEEP_PRUNED = (
    "INSERT INTO pruned_orders (tenant, order_number, order_hash, message_id, sonet_order_number, sent_at, pruned_at) "
    "SELECT m.tenant, m.order_number, v.order_hash, m.message_id, m.sonet_order_number, m.sent_at, ? FROM messages m "
    "JOIN order_versions v ON v.message_id = m.message_id WHERE m.message_id = ? ON CONFLICT DO NOTHING"
)
#: A pruned message's rows, children first (`order_versions` references `messages`).
DELETE_MESSAGE = (
    "DELETE FROM refused_versions WHERE message_id = ?",
    "DELETE FROM price_flags WHERE message_id = ?",
    "DELETE FROM events WHERE message_id = ?",
    "DELETE FROM order_versions WHERE message_id = ?",
    "DELETE FROM messages WHERE message_id = ?",
)

COUNTS = "SELECT tenant, state, COUNT(*), MIN(created_at) FROM messages GROUP BY tenant, state"
TENANTS = "SELECT name FROM tenants ORDER BY name"
#: One index probe per tenant (scalar subqueries with LIMIT 1 are not turned into a scan of all due rows).
DUE_TENANTS = (
    "SELECT t.name FROM tenants t WHERE (SELECT 1 FROM messages m WHERE m.state = 'pending' AND m.tenant = t.name "
    "AND m.next_attempt_at <= ? LIMIT 1) IS NOT NULL OR (SELECT 1 FROM messages m WHERE m.state = 'sending' "
    "AND m.tenant = t.name AND m.claim_expires_at <= ? LIMIT 1) IS NOT NULL ORDER BY t.name"
)
BACKLOG = "SELECT COUNT(*), MIN(created_at) FROM messages WHERE tenant = ? AND state IN ('pending', 'sending')"
#: What changes whenever a message of the tenant is added or moves (read by the shop's order status).
CHANGE_MARK = (
    "SELECT COUNT(*), MAX(updated_at), COALESCE(SUM(version), 0), COALESCE(SUM(attempts), 0), "
    "COUNT(*) FILTER (WHERE state = 'sent'), COUNT(*) FILTER (WHERE state = 'failed') FROM messages WHERE tenant = ?"
)

#: The columns a move may set (a guard: `update` composes SQL from these names only).
SETTABLE = frozenset(
    {
        "state",
        "attempts",
        "next_attempt_at",
        "updated_at",
        "sent_at",
        "error_code",
        "error_message",
        "error_field",
        "sonet_order_number",
        "version",
        "xml",
        "claimed_by",
        "claim_expires_at",
        "first_attempt_at",
    }
)


def update(columns: Sequence[str]) -> str:
    """`UPDATE messages SET a = ?, b = ? WHERE message_id = ?` for settable column names."""
    unknown = set(columns) - SETTABLE
    if unknown:
        raise ValueError(f"not settable: {sorted(unknown)}")
    return "UPDATE messages SET " + ", ".join(f"{name} = ?" for name in columns) + " WHERE message_id = ?"


def age(now: datetime, oldest: datetime | str | None) -> float | None:
    """Seconds from the stored instant `oldest` to `now` (never negative), or None."""
    since = instant(oldest)
    return None if since is None else round(max((now - since).total_seconds(), 0.0), 3)


def plain(value: Any) -> Any:
    """A parameter as the drivers take it: enums as their values (psycopg would send an Enum's name)."""
    return value.value if isinstance(value, Enum) else value


def instant(value: datetime | str | None) -> datetime | None:
    """A stored timestamp (PostgreSQL: timestamptz; SQLite: ISO text in UTC) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC)


def at(value: datetime | str) -> datetime:
    """A stored timestamp that is never null."""
    result = instant(value)
    if result is None:
        raise ValueError("a required timestamp is null")
    return result


def message_from_row(row: Sequence[Any]) -> Message:
    (
        message_id,
        tenant,
        order_number,
        state,
        attempts,
        next_attempt_at,
        created_at,
        updated_at,
        sent_at,
        code,
        text,
        field,
        sonet_order_number,
        version,
        order_json,
        order_hash,
        xml,
        claimed_by,
        claim_expires_at,
        first_attempt_at,
        price_flags,
    ) = row
    return Message(
        message_id=message_id,
        tenant=tenant,
        order_number=order_number,
        state=State(state),
        attempts=attempts,
        next_attempt_at=at(next_attempt_at),
        created_at=at(created_at),
        updated_at=at(updated_at),
        sent_at=instant(sent_at),
        error=ErrorInfo(code, text or "", field) if code else None,
        sonet_order_number=sonet_order_number,
        version=version,
        order=json.loads(order_json),
        order_hash=order_hash,
        xml=bytes(xml) if xml is not None else None,
        claimed_by=claimed_by,
        claim_expires_at=instant(claim_expires_at),
        first_attempt_at=instant(first_attempt_at),
        price_mismatches=json.loads(price_flags) if price_flags else None,
    )


def event_from_row(row: Sequence[Any]) -> Event:
    message_id, when, from_state, to_state, actor, reason = row
    return Event(
        message_id=message_id,
        at=at(when),
        from_state=State(from_state) if from_state else None,
        to_state=State(to_state),
        actor=actor,
        reason=reason,
    )


def refused_from_row(row: Sequence[Any]) -> RefusedVersion:
    message_id, version, xml, code, text, field, attempts, failed_at, corrected_at, actor = row
    return RefusedVersion(
        message_id=message_id,
        version=version,
        xml=bytes(xml) if xml is not None else None,
        error=ErrorInfo(code, text or "", field) if code else None,
        attempts=attempts,
        failed_at=at(failed_at),
        corrected_at=at(corrected_at),
        actor=actor,
    )
