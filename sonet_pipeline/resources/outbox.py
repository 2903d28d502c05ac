"""The outbox as a Dagster resource: SQLite under the data dir, or PostgreSQL when a DSN is bound."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import ConfigurableResource
from pydantic import Field

from sonet_pipeline.outbox import Outbox, open_outbox


class OutboxResource(ConfigurableResource):
    postgres_dsn: str | None = Field(default=None, repr=False, description="PostgreSQL DSN; bind with EnvVar")

    @contextmanager
    def open(self) -> Iterator[Outbox]:
        outbox = open_outbox(self.postgres_dsn)
        try:
            yield outbox
        finally:
            outbox.close()
