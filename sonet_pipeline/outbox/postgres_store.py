"""The outbox on PostgreSQL (psycopg 3): for senders on several machines.

Tables live in a schema of their own (`sonet_outbox` by default; tests use a throwaway one), created
on first use under an advisory lock so that processes starting together do not race. A claim locks
its rows with `FOR UPDATE ... SKIP LOCKED`, so concurrent claimers take disjoint messages without
waiting for each other; every other move locks its one row (`FOR UPDATE`). Connections are kept in a
small pool of idle ones, one per concurrent caller.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from sonet_pipeline.outbox.rows import Tx, plain
from sonet_pipeline.outbox.store import DEFAULT_SCHEMA, Outbox

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS messages (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
    "message_id text NOT NULL UNIQUE, tenant text NOT NULL, "
    "order_number text NOT NULL, state text NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed')), "
    "attempts integer NOT NULL, next_attempt_at timestamptz NOT NULL, created_at timestamptz NOT NULL, "
    "updated_at timestamptz NOT NULL, sent_at timestamptz, error_code text, error_message text, error_field text, "
    "sonet_order_number text, version integer NOT NULL, xml bytea, claimed_by text, claim_expires_at timestamptz, "
    "first_attempt_at timestamptz, UNIQUE (tenant, order_number))",
    "CREATE INDEX IF NOT EXISTS messages_due ON messages (state, tenant, next_attempt_at, seq)",
    "CREATE TABLE IF NOT EXISTS order_versions (message_id text NOT NULL REFERENCES messages (message_id), "
    "version integer NOT NULL, order_json text NOT NULL, order_hash text NOT NULL, created_at timestamptz NOT NULL, "
    "actor text NOT NULL, PRIMARY KEY (message_id, version))",
    "CREATE TABLE IF NOT EXISTS events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, message_id text NOT NULL, "
    "at timestamptz NOT NULL, from_state text, to_state text NOT NULL, actor text NOT NULL, reason text NOT NULL)",
    "CREATE INDEX IF NOT EXISTS events_message ON events (message_id, id)",
    "CREATE TABLE IF NOT EXISTS tenants (name text PRIMARY KEY)",
    "CREATE TABLE IF NOT EXISTS price_flags (message_id text PRIMARY KEY, flags text NOT NULL)",
    "CREATE INDEX IF NOT EXISTS messages_settled ON messages (tenant, sent_at) WHERE state = 'sent'",
    "CREATE TABLE IF NOT EXISTS pruned_orders (tenant text NOT NULL, order_number text NOT NULL, "
    "order_hash text NOT NULL, message_id text NOT NULL, sonet_order_number text, sent_at timestamptz, "
    "pruned_at timestamptz NOT NULL, PRIMARY KEY (tenant, order_number, order_hash))",
    "CREATE TABLE IF NOT EXISTS refused_versions (message_id text NOT NULL, version integer NOT NULL, xml bytea, "
    "error_code text, error_message text, error_field text, attempts integer NOT NULL, failed_at timestamptz NOT NULL, "
    "corrected_at timestamptz NOT NULL, actor text NOT NULL, PRIMARY KEY (message_id, version))",
)


def _pg(statement: str) -> str:
    """`?` placeholders as psycopg's `%s` (the shared SQL has no other `?` and no `%`)."""
    return statement.replace("?", "%s")


class _PostgresTx:
    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self.cursor = cursor

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        self.cursor.execute(_pg(statement), [plain(p) for p in params])

    def one(self, statement: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        return self.cursor.execute(_pg(statement), [plain(p) for p in params]).fetchone()

    def all(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.cursor.execute(_pg(statement), [plain(p) for p in params]).fetchall()

    def many(self, statement: str, params: Iterable[Sequence[Any]]) -> None:
        batch = [[plain(p) for p in row] for row in params]
        if len(batch) == 1:  # one round trip, not a pipeline's sync
            self.cursor.execute(_pg(statement), batch[0])
        elif batch:
            self.cursor.executemany(_pg(statement), batch)

    def stamp(self, instant: datetime) -> datetime:
        return instant

    def many_plain(self, *batches: tuple[str, Sequence[Sequence[Any]]]) -> None:
        """All in one pipeline: one sync, one round trip. A statement's error met inside it is raised
        once the pipeline is closed (raised inside, psycopg would log the abort of those behind it)."""
        failed: psycopg.Error | None = None
        try:
            with self.cursor.connection.pipeline():
                try:
                    for statement, params in batches:
                        self.cursor.executemany(_pg(statement), params)
                except psycopg.Error as exc:
                    failed = exc
        except psycopg.errors.PipelineAborted:
            if failed is None:
                raise
        if failed is not None:
            raise failed

    def all_in(self, statement: str, params: Sequence[Any], values: Sequence[Any]) -> list[tuple[Any, ...]]:
        """One query per value, pipelined (one round trip): with `= ?` the planner keeps to an index
        on the columns compared whatever its statistics say; with `= ANY(?)`, on a table grown since
        its last ANALYZE, it scanned all of a tenant's messages."""
        head = [plain(p) for p in params]
        batch = [[*head, plain(v)] for v in values]
        if len(batch) <= 1:
            return self.all(statement + " = ?", batch[0]) if batch else []
        self.cursor.executemany(_pg(statement + " = ?"), batch, returning=True)
        found: list[tuple[Any, ...]] = []
        while True:
            found += self.cursor.fetchall()
            if not self.cursor.nextset():
                return found


class PostgresOutbox(Outbox):
    lock_one = " FOR UPDATE OF m"
    lock_claimable = " FOR UPDATE OF m SKIP LOCKED"
    unique_violation = psycopg.errors.UniqueViolation

    def __init__(self, dsn: str, *, schema: str = DEFAULT_SCHEMA, max_idle: int = 4) -> None:
        self.dsn, self.schema, self.max_idle = dsn, schema, max_idle
        self._idle: queue.LifoQueue[psycopg.Connection[Any]] = queue.LifoQueue()
        self._create_schema()

    def _connect(self) -> psycopg.Connection[Any]:
        connection = psycopg.connect(self.dsn, autocommit=True, application_name="sonet-outbox")
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
        return connection

    def _create_schema(self) -> None:
        lock_key = int.from_bytes(
            hashlib.sha256(f"outbox schema {self.schema}".encode()).digest()[:8], "big", signed=True
        )
        with self._connection() as connection, connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key,))
            connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
            for statement in SCHEMA:
                connection.execute(statement)

    @contextlib.contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            connection = self._idle.get_nowait()
        except queue.Empty:
            connection = self._connect()
        try:
            yield connection
        finally:
            if connection.closed or connection.broken or self._idle.qsize() >= self.max_idle:
                connection.close()
            else:
                self._idle.put(connection)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Tx]:
        with self._connection() as connection, connection.transaction(), connection.cursor() as cursor:
            yield _PostgresTx(cursor)

    def _write(self) -> contextlib.AbstractContextManager[Tx]:
        return self._transaction()

    def _read(self) -> contextlib.AbstractContextManager[Tx]:
        return self._transaction()

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

    def drop_schema(self) -> None:
        """Drop the schema and everything in it (tests' throwaway schemas)."""
        with self._connection() as connection:
            connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema)))
        self.close()
