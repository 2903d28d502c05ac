"""The lease resource: "one run at a time" for a flow, the same guard for daemon and CLI runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import ConfigurableResource
from pydantic import Field

from sonet_pipeline.common.leases import FileLease, Lease, PostgresLease, held
from sonet_pipeline.config import settings


class LeaseResource(ConfigurableResource):
    """File leases under the data dir by default; PostgreSQL advisory locks when `postgres_dsn` is set."""

    postgres_dsn: str | None = Field(default=None, description="PostgreSQL DSN; bind with EnvVar")
    wait_seconds: float = Field(default=60.0, ge=0, description="How long a run waits for a held lease")

    def lease(self, name: str) -> Lease:
        if self.postgres_dsn:
            return PostgresLease(self.postgres_dsn, name)
        return FileLease(settings.locks_dir(), name)

    @contextmanager
    def hold(self, name: str, owner: str) -> Iterator[Lease]:
        """Hold lease `name` for the block, waiting up to `wait_seconds`; else `LeaseHeldError`."""
        with held(self.lease(name), owner, wait_seconds=self.wait_seconds) as lease:
            yield lease
