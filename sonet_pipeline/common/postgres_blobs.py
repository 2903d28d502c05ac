"""`Blobs` in a PostgreSQL table (`PostgresBlobs`) and the advisory lock whoever creates something in a
tenant's schema holds meanwhile (`schema_lock`). Apart from `common/blobs.py` so that psycopg is imported
only where PostgreSQL is used: `store/factory.py` imports this module inside the functions that build
PostgreSQL blobs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import sql

from sonet_pipeline.common.blobs import Blobs, checked_name


def schema_lock(schema: str) -> int:
    """The PostgreSQL advisory lock whoever creates something in `schema` holds meanwhile (`PostgresBlobs`,
    the tenant store): two processes making the same new schema or table at once would otherwise fail."""
    digest = hashlib.blake2b(f"sonet-schema:{schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresBlobs(Blobs):
    """Rows `(name, data)` of one table in PostgreSQL, under a namespace (e.g. a tenant's snapshot)."""

    def __init__(self, dsn: str, *, schema: str, table: str = "blobs", namespace: str = "") -> None:
        self.dsn, self.schema, self.table = dsn, schema, table
        self.namespace = namespace.strip("/")
        self._ensured = False

    def _full(self, name: str) -> str:
        return f"{self.namespace}/{checked_name(name)}" if self.namespace else checked_name(name)

    def _relation(self) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(self.table))

    def _connect(self) -> psycopg.Connection[Any]:
        connection = psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)
        if not self._ensured:
            with connection.transaction():  # one creator at a time: processes starting together do not race
                connection.execute("SELECT pg_advisory_xact_lock(%s)", (schema_lock(self.schema),))
                connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
                connection.execute(
                    sql.SQL(
                        "CREATE TABLE IF NOT EXISTS {} (name TEXT PRIMARY KEY, data BYTEA NOT NULL, "
                        "sha256 TEXT NOT NULL, stored_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                    ).format(self._relation())
                )
            self._ensured = True
        return connection

    def put(self, name: str, data: bytes) -> None:
        digest = hashlib.sha256(data).hexdigest()
        with self._connect() as connection:
            connection.execute(
                sql.SQL(
                    "INSERT INTO {} (name, data, sha256) VALUES (%s, %s, %s) ON CONFLICT (name) DO UPDATE "
                    "SET data = excluded.data, sha256 = excluded.sha256, stored_at = now()"
                ).format(self._relation()),
                (self._full(name), data, digest),
            )

    def get(self, name: str) -> bytes | None:
        row = self._one("data", name)
        return bytes(row) if row is not None else None

    def stored_sha256(self, name: str) -> str | None:
        row = self._one("sha256", name)
        return str(row) if row is not None else None

    def delete(self, name: str) -> None:
        with self._connect() as connection:
            connection.execute(sql.SQL("DELETE FROM {} WHERE name = %s").format(self._relation()), (self._full(name),))

    def names(self, prefix: str = "") -> Iterator[str]:
        start = f"{self.namespace}/" if self.namespace else ""
        pattern = (start + prefix).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self._connect() as connection:
            rows = connection.execute(
                sql.SQL("SELECT name FROM {} WHERE name LIKE %s ORDER BY name").format(self._relation()), (pattern,)
            ).fetchall()
        for (name,) in rows:
            yield name[len(start) :]

    def describe(self, name: str = "") -> str:
        where = f"{self.schema}.{self.table}"
        key = self._full(name) if name else self.namespace
        return f"postgresql://{where}/{key}"

    def _one(self, column: str, name: str) -> Any:
        with self._connect() as connection:
            row = connection.execute(
                sql.SQL("SELECT {} FROM {} WHERE name = %s").format(sql.Identifier(column), self._relation()),
                (self._full(name),),
            ).fetchone()
        return row[0] if row is not None else None
