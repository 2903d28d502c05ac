"""Which outbox backend a location names: PostgreSQL for a DSN, else SQLite."""

from __future__ import annotations

from pathlib import Path

from sonet_pipeline.outbox.sqlite_store import SqliteOutbox
from sonet_pipeline.outbox.store import DEFAULT_SCHEMA, Outbox


def open_outbox(url_or_path: str | Path | None = None, *, schema: str = DEFAULT_SCHEMA) -> Outbox:
    """A PostgreSQL outbox for a `postgresql://` DSN (its tables in `schema`), else SQLite at the path
    given, by default `<data dir>/outbox.sqlite`."""
    text = str(url_or_path) if url_or_path is not None else ""
    if text.startswith(("postgresql://", "postgres://")):
        from sonet_pipeline.outbox.postgres_store import PostgresOutbox  # psycopg only when it is used

        return PostgresOutbox(text, schema=schema)
    return SqliteOutbox(Path(text) if text else None)
