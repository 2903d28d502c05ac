"""The tenants' stores: written by the sync, published as snapshots that everyone else reads.

Embedded (no DSN): DuckDB files and snapshot folders under the data dir. With `postgres_dsn` bound (the
production DSN, as an `EnvVar`): each tenant's schema in PostgreSQL holds its store, its snapshot and
the shop's caches, so any worker on any host finds what the last run left (`store.factory`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import ConfigurableResource
from pydantic import Field

from sonet_pipeline.common.blobs import Blobs
from sonet_pipeline.store import Snapshot, Store, cache_blobs, open_snapshot, open_store, quality, snapshot_blobs
from sonet_pipeline.store.publication_gate import Verdict, publish_if_passed


class StoreResource(ConfigurableResource):
    """Opens a tenant's store for writing (the caller holds the tenant's store lease), and its snapshot."""

    postgres_dsn: str | None = Field(
        default=None, repr=False, description="PostgreSQL DSN of production; bind with EnvVar. Unset: local files"
    )

    @contextmanager
    def writer(self, tenant: str) -> Iterator[Store]:
        with open_store(tenant, dsn=self.postgres_dsn) as store:
            yield store

    def publish(self, tenant: str, store: Store, tables: quality.Tables | None = None) -> Verdict:
        """Publish the read-only snapshot other processes read (never the store itself): the file of each
        entity that passes its blocking quality rules (read through `tables` when given); the others stay."""
        return publish_if_passed(store, snapshot_blobs(tenant, dsn=self.postgres_dsn), tables)

    def snapshot(self, tenant: str) -> Snapshot:
        return open_snapshot(tenant, dsn=self.postgres_dsn)

    def cache(self, tenant: str) -> Blobs:
        """Where the shop keeps the tenant's caches (the catalogue's)."""
        return cache_blobs(tenant, dsn=self.postgres_dsn)
