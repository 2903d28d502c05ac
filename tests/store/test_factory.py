"""Where a tenant's store, snapshot and caches live: under the data dir by default, in the tenant's
PostgreSQL schema when the production DSN is set, so another host (another data dir) finds them."""

from __future__ import annotations

from pathlib import Path

import pytest

from sonet_pipeline.common.blobs import FolderBlobs
from sonet_pipeline.common.postgres_blobs import PostgresBlobs
from sonet_pipeline.store import TenantStore, factory, to_frame
from sonet_pipeline.store.postgres_store import PostgresTenantStore
from tests.store.samples import SYNCED_AT, item

DSN_ENV = "SONET_PIPELINE_POSTGRES_DSN"


def test_embedded_places_follow_the_data_dir(_isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a DSN: the DuckDB file, the snapshot folder and the caches' folder, one per tenant."""
    monkeypatch.delenv(DSN_ENV, raising=False)
    assert factory.store_path("acme") == _isolated_data_dir / "store" / "acme.duckdb"
    assert factory.snapshot_dir("acme") == _isolated_data_dir / "store" / "acme" / "snapshot"
    with factory.open_store("acme") as store:
        assert isinstance(store, TenantStore)
        store.upsert("items", to_frame("items", [item("A")]), run_id="r", partition="p", synced_at=SYNCED_AT)
        store.publish_snapshot(factory.snapshot_blobs("acme"))
    assert (_isolated_data_dir / "store" / "acme.duckdb").is_file()
    assert (_isolated_data_dir / "store" / "acme" / "snapshot" / "manifest.json").is_file()
    assert [r["itemCode"] for r in factory.open_snapshot("acme").records("items")] == ["A"]
    cache = factory.cache_blobs("acme")
    assert isinstance(cache, FolderBlobs) and cache.folder == _isolated_data_dir / "shop" / "acme"


@pytest.mark.postgres
def test_production_keeps_everything_in_the_tenants_schema(
    postgres_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the DSN set: the store, the snapshot and the caches are in `sonet_store_<tenant>`; another
    data dir (another host) reads the same snapshot and cache, and the first leaves nothing on disk."""
    monkeypatch.setenv(DSN_ENV, postgres_database)
    monkeypatch.setenv("SONET_PIPELINE_DATA_DIR", str(tmp_path / "host-a"))
    with factory.open_store("acme") as store:
        assert isinstance(store, PostgresTenantStore) and store.schema == "sonet_store_acme"
        store.upsert("items", to_frame("items", [item("A")]), run_id="r", partition="p", synced_at=SYNCED_AT)
        store.publish_snapshot(factory.snapshot_blobs("acme"))
    factory.cache_blobs("acme").put("catalogue.pickle", b"cached")
    places = ((factory.snapshot_blobs("acme"), "snapshot_files"), (factory.cache_blobs("acme"), "cache_files"))
    for blobs, table in places:
        assert isinstance(blobs, PostgresBlobs) and (blobs.schema, blobs.table) == ("sonet_store_acme", table)
    assert not (tmp_path / "host-a").exists()
    monkeypatch.setenv("SONET_PIPELINE_DATA_DIR", str(tmp_path / "host-b"))
    assert [r["itemCode"] for r in factory.open_snapshot("acme").records("items")] == ["A"]
    assert factory.cache_blobs("acme").get("catalogue.pickle") == b"cached"
    with factory.open_store("acme") as store:
        assert store.keys("items") == {"A"}
    assert isinstance(factory.open_snapshot("acme", dsn=None).blobs, FolderBlobs)  # an explicit None: embedded


def test_a_tenant_name_is_checked() -> None:
    """Only a tenant's name (the tenants file's rule) makes a path or a schema; anything else is named."""
    assert factory.store_schema("acme_2") == "sonet_store_acme_2"
    for bad in ("", "Acme", "../acme", "acme-eu", "a" * 41, "1acme"):
        with pytest.raises(ValueError, match="not a tenant name"):
            factory.store_schema(bad)
        with pytest.raises(ValueError, match="not a tenant name"):
            factory.store_path(bad)
