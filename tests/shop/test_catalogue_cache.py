"""The incremental catalogue equals a full `build_catalogue` after any change, rebuilding only what changed."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sonet_pipeline.common.postgres_blobs import PostgresBlobs
from sonet_pipeline.config.shop import ShopConfig
from sonet_pipeline.shop.catalogue import build_catalogue
from sonet_pipeline.shop.catalogue_cache import CACHE_NAME, IncrementalCatalogue
from sonet_pipeline.shop.publish import jsonl
from sonet_pipeline.sonet.entities import entity
from sonet_pipeline.standin.seed_data import generate_company
from sonet_pipeline.store import Snapshot, TenantStore, to_frame
from sonet_pipeline.store.records import format_instant

ITEMS = entity("items")
GLOVES = ShopConfig.model_validate(
    {
        "variant_strategy_by_group": {"GLOVES": "comment_field"},
        "options": [{"product_group": "GLOVES", "axes": [{"name": "Size", "values": ["7", "8"]}]}],
    }
)


class Tenant:
    """A store with the stand-in's items, its snapshot, and changes stamped later each time."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.stamp = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)
        self.items = {r["itemCode"]: _plain(r) for r in generate_company(7, items=800).items}
        self.write(list(self.items.values()))

    def write(self, records: list[dict[str, Any]]) -> None:
        with TenantStore.open(self.folder / "store.duckdb") as store:
            store.upsert(ITEMS, to_frame(ITEMS, records), run_id="r", partition="p", synced_at=self.stamp)
            store.publish_snapshot(self.folder / "snapshot")

    def change(self, code: str, **fields: Any) -> None:
        self.stamp += timedelta(seconds=1)
        self.items[code] = {**self.items[code], **fields, "dateModified": format_instant(self.stamp)}
        self.write([self.items[code]])

    @property
    def snapshot(self) -> Snapshot:
        return Snapshot(self.folder / "snapshot")


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "dateModified": format_instant(record["dateModified"])}


@pytest.fixture
def tenant(tmp_path: Path) -> Tenant:
    return Tenant(tmp_path)


def full(tenant: Tenant, shop: ShopConfig = GLOVES) -> tuple[bytes, int, list, dict]:
    """What a full build publishes: the file's bytes, its lines, the conflicts and the counts."""
    whole = build_catalogue(tenant.snapshot.records("items"), strategy="item_per_variant", shop=shop)
    return jsonl(whole.products), len(whole.products), whole.conflicts, whole.counts


def answer(built) -> tuple[bytes, int, list, dict]:
    return built.lines.data, built.lines.records, built.conflicts, built.counts


def test_first_build_is_full_then_a_change_rebuilds_only_its_group_with_the_same_result(tenant, tmp_path):
    builder = IncrementalCatalogue(tmp_path / "cache" / "catalogue.pickle")
    first = builder.build(tenant.snapshot, strategy="item_per_variant", shop=GLOVES)
    assert first.full and answer(first) == full(tenant)
    assert builder.build(tenant.snapshot, strategy="item_per_variant", shop=GLOVES).rebuilt_groups == 0

    tenant.change("BOOT-PRO-43", listPrice="61.90")
    again = builder.build(tenant.snapshot, strategy="item_per_variant", shop=GLOVES)
    assert (again.rebuilt_groups, again.full) == (1, False)
    assert answer(again) == full(tenant)


def test_any_sequence_of_changes_gives_what_a_full_build_gives(tenant, tmp_path):
    """Prices, deletions, hidden items, models gained and lost, colliding variants, new settings."""
    builder = IncrementalCatalogue(tmp_path / "catalogue.pickle")
    rng = random.Random(11)
    codes = sorted(tenant.items)
    models = sorted({i["modelCode"] for i in tenant.items.values() if i["modelCode"]})
    shop, incremental = GLOVES, 0
    for step in range(60):
        code = rng.choice(codes)
        kind = step % 6
        if kind == 0:
            tenant.change(code, listPrice=f"{rng.randint(1, 999)}.90")
        elif kind == 1:
            tenant.change(code, status=rng.choice(["ACTIVE", "PASSIVE", "DELETED"]))
        elif kind == 2:
            tenant.change(code, modelCode=rng.choice([None, *models[:5]]), webVisible=True, status="ACTIVE")
        elif kind == 3:
            other = tenant.items[rng.choice(codes)]
            tenant.change(code, modelCode=other["modelCode"], variantAttributes=other["variantAttributes"])
        elif kind == 4:
            tenant.change(code, modelCode=rng.choice(codes))  # a model named like an item: a sku clash
        elif step % 12 == 5:
            shop = ShopConfig() if shop == GLOVES else GLOVES
        built = builder.build(tenant.snapshot, strategy="item_per_variant", shop=shop)
        assert answer(built) == full(tenant, shop), step
        incremental += not built.full
    assert incremental >= 30  # most builds rebuilt only the changed groups


def test_a_lost_or_broken_cache_costs_one_full_build(tenant, tmp_path):
    cache = tmp_path / "catalogue.pickle"
    IncrementalCatalogue(cache).build(tenant.snapshot, strategy="item_per_variant", shop=GLOVES)
    cache.write_bytes(b"not a pickle")
    again = IncrementalCatalogue(cache).build(tenant.snapshot, strategy="item_per_variant", shop=GLOVES)
    assert again.full and answer(again) == full(tenant)
    cache.unlink()
    assert IncrementalCatalogue(cache).build(tenant.snapshot, strategy="item_per_variant", shop=GLOVES).full


@pytest.mark.postgres
def test_the_cache_in_postgresql_serves_another_host(tenant, postgres_schema):
    """Production keeps the cache as a row in PostgreSQL: a builder on another host (a new instance, no
    local file) rebuilds only what changed; a broken row costs one full build, as a broken file does."""
    dsn, schema = postgres_schema
    first = IncrementalCatalogue(PostgresBlobs(dsn, schema=schema, table="cache_files"))
    assert first.build(tenant.snapshot, strategy="item_per_variant", shop=GLOVES).full
    tenant.change("BOOT-PRO-43", listPrice="61.90")
    elsewhere = IncrementalCatalogue(PostgresBlobs(dsn, schema=schema, table="cache_files"))
    again = elsewhere.build(tenant.snapshot, strategy="item_per_variant", shop=GLOVES)
    assert (again.rebuilt_groups, again.full) == (1, False) and answer(again) == full(tenant)
    PostgresBlobs(dsn, schema=schema, table="cache_files").put(CACHE_NAME, b"not a pickle")
    broken = elsewhere.build(tenant.snapshot, strategy="item_per_variant", shop=GLOVES)
    assert broken.full and answer(broken) == full(tenant)
