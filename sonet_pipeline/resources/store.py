"""The tenants' local stores: DuckDB files written by the sync, Parquet snapshots read by everyone else."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import ConfigurableResource

from sonet_pipeline.store import Snapshot, TenantStore, snapshot_dir, store_path


class StoreResource(ConfigurableResource):
    """Opens a tenant's DuckDB store for writing (the caller holds the tenant's store lease)."""

    @contextmanager
    def writer(self, tenant: str) -> Iterator[TenantStore]:
        path = store_path(tenant)
        path.parent.mkdir(parents=True, exist_ok=True)
        with TenantStore.open(path) as store:
            yield store

    def publish(self, tenant: str, store: TenantStore) -> None:
        """Publish the read-only snapshot other processes read (never the DuckDB file itself)."""
        store.publish_snapshot(snapshot_dir(tenant))

    def snapshot(self, tenant: str) -> Snapshot:
        return Snapshot(snapshot_dir(tenant))
