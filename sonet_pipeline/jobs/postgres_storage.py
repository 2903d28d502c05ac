"""Dagster's run, event-log and schedule storage on the pipeline's PostgreSQL, from the one DSN.

`dagster.yaml` names this class under `storage: custom:` with `dsn: {env: SONET_PIPELINE_POSTGRES_DSN}`,
so the webserver, the daemon, the CLI and every worker read the same variable the outbox and the
leases read, and no password is ever written into a file. Two things the plain `storage: postgres:`
block cannot do from one `postgresql://` DSN are done here:

- the driver: with SQLAlchemy 2.1 and psycopg 3 installed, a `postgresql://` URL selects psycopg 3,
  and Dagster's `NOTIFY` then fails (`syntax error at or near "$1"`); Dagster gets
  `postgresql+psycopg2://` instead (shared/field-notes.md);
- the schema: Dagster's tables go into their own schema (`dagster` by default), created if missing,
  beside the pipeline's own schemas in the same database.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from dagster import Field, StringSource
from dagster_postgres import DagsterPostgresStorage
from psycopg import sql

DEFAULT_SCHEMA = "dagster"
_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg")


def dagster_url(dsn: str, schema: str = DEFAULT_SCHEMA) -> str:
    """The SQLAlchemy URL Dagster's storage uses for `dsn`: psycopg2's driver, `schema` first on the path."""
    parts = urlsplit(dsn)
    if parts.scheme not in _SCHEMES:
        raise ValueError(f"a PostgreSQL DSN starts with postgresql://, got {parts.scheme or 'no scheme'}://")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "options"]
    query.append(("options", f"-csearch_path={schema}"))
    return urlunsplit(("postgresql+psycopg2", parts.netloc, parts.path, urlencode(query), parts.fragment))


def libpq_dsn(dsn: str) -> str:
    """`dsn` as libpq takes it (no SQLAlchemy driver suffix in the scheme)."""
    parts = urlsplit(dsn)
    return urlunsplit(("postgresql", *parts[1:])) if "+" in parts.scheme else dsn


def ensure_schema(dsn: str, schema: str) -> None:
    """Create `schema` when it is missing (Dagster creates its tables, not their schema)."""
    with psycopg.connect(libpq_dsn(dsn), autocommit=True, connect_timeout=10) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))


class PipelinePostgresStorage(DagsterPostgresStorage):
    """`DagsterPostgresStorage` configured by the pipeline's DSN and a schema of its own."""

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {
            "dsn": Field(StringSource, description="PostgreSQL DSN, e.g. {env: SONET_PIPELINE_POSTGRES_DSN}"),
            "schema": Field(str, is_required=False, default_value=DEFAULT_SCHEMA, description="for Dagster's tables"),
            "should_autocreate_tables": Field(bool, is_required=False, default_value=True),
        }

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> PipelinePostgresStorage:
        dsn, schema = config_value["dsn"], config_value.get("schema", DEFAULT_SCHEMA)
        ensure_schema(dsn, schema)
        return cls(
            postgres_url=dagster_url(dsn, schema),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            inst_data=inst_data,
        )
