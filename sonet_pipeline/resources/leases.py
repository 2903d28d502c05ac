"""The lease resource: "one run at a time" for a flow, the same guard for daemon and CLI runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import ConfigurableResource
from pydantic import Field

from sonet_pipeline.common.leases import Lease, held, open_lease
from sonet_pipeline.config import settings


class LeaseResource(ConfigurableResource):
    """File leases under the data dir by default; PostgreSQL advisory locks when `postgres_dsn` is set."""

    postgres_dsn: str | None = Field(default=None, description="PostgreSQL DSN; bind with EnvVar")
    wait_seconds: float = Field(default=60.0, ge=0, description="How long a run waits for a held lease")

    def lease(self, name: str) -> Lease:
        return open_lease(name, postgres_dsn=self.postgres_dsn, locks_dir=settings.locks_dir())

    @contextmanager
    def hold(self, name: str, owner: str) -> Iterator[Lease]:
        """Hold lease `name` for the block, waiting up to `wait_seconds`; else `LeaseHeldError`.

        A CLI command takes its tenants' leases before it executes the run in its own process, naming
        the run it is about to start (`cli/runs/tenant_leases.py`): that run finds the lease held by
        `owner` in this very process and goes ahead under it."""
        lease = self.lease(name)
        holder = lease.holder()
        if holder is not None and holder.is_here(owner):
            yield lease
            return
        with held(lease, owner, wait_seconds=self.wait_seconds) as taken:
            yield taken
