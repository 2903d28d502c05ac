"""Fixtures of the sender's tests: the outbox on SQLite and on PostgreSQL, as in tests/outbox."""

from tests.outbox.conftest import backend, outbox

__all__ = ["backend", "outbox"]
