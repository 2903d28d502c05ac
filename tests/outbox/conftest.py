"""Fixtures of the outbox tests: every store test runs on SQLite and on PostgreSQL.

PostgreSQL tests use a throwaway schema per test, dropped afterwards; where the server is absent they
skip (fail under CI=true), per `require_outside`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from sonet_pipeline.outbox.factory import open_outbox
from sonet_pipeline.outbox.store import DEFAULT_SCHEMA, Outbox
from tests.conftest import POSTGRES_DSN, postgres_reachable, require_outside


@dataclass
class Backend:
    """Where a test's outbox lives; `open()` gives another `Outbox` (other connections) on it."""

    name: str
    target: str  # a file path or a DSN
    schema: str = DEFAULT_SCHEMA
    opened: list[Outbox] = field(default_factory=list)

    def open(self) -> Outbox:
        outbox = open_outbox(self.target, schema=self.schema)
        self.opened.append(outbox)
        return outbox


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path) -> Iterator[Backend]:
    if request.param == "sqlite":
        where = Backend("sqlite", str(tmp_path / "outbox.sqlite"))
    else:
        require_outside(postgres_reachable(), f"PostgreSQL is not reachable at {POSTGRES_DSN}")
        where = Backend("postgres", POSTGRES_DSN, schema=f"test_outbox_{uuid.uuid4().hex[:12]}")
    yield where
    for outbox in where.opened:
        outbox.close()
    if where.name == "postgres":
        import psycopg
        from psycopg import sql

        with psycopg.connect(POSTGRES_DSN, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(where.schema)))


@pytest.fixture
def outbox(backend: Backend) -> Outbox:
    return backend.open()
