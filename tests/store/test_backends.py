"""The two store backends are one contract: texts survive exactly, a field the contract adds becomes a
column, and the same syncs leave DuckDB and PostgreSQL with the same tables, fingerprints and snapshot.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from sonet_pipeline.common.blobs import FolderBlobs
from sonet_pipeline.common.postgres_blobs import PostgresBlobs
from sonet_pipeline.sonet.entities import entities, entity
from sonet_pipeline.store import Snapshot, SqlStore, TenantStore, quality, to_frame
from sonet_pipeline.store.postgres_store import PostgresTenantStore
from tests.store.conftest import Backend
from tests.store.samples import SYNCED_AT, item, node

ITEMS = entity("items")
#: Texts a CSV or COPY round trip could bend: quotes, separators, line breaks, backslashes, COPY's
#: end-of-data marker on a line of its own, its NULL spellings, spaces, an empty text, non-ASCII.
AWKWARD = (
    'say "cheese", please',
    "line one\nline two\r\nline three",
    "\\.",
    "before\n\\.\nafter",
    "back\\slash \\N NULL null",
    "\ttabbed\t",
    "  padded  ",
    "",
    "Mäkinen – 𝄞 ✓",
)


def test_texts_survive_exactly(backend: Backend) -> None:
    """Every awkward text comes back as it went in, from the store and from its snapshot; an empty
    text stays empty and a null stays null."""
    records = [item(f"T{i}", name=text, description=text, ean=None) for i, text in enumerate(AWKWARD)]
    with backend.open() as store:
        assert store.upsert(ITEMS, to_frame(ITEMS, records), run_id="r", partition="p", synced_at=SYNCED_AT).inserted
        frame = store.frame(ITEMS)
        assert list(frame["name"]) == list(AWKWARD) and list(frame["description"]) == list(AWKWARD)
        assert frame["ean"].isna().all()
        store.publish_snapshot(backend.blobs())
    back = {r["itemCode"]: r for r in backend.snapshot().records(ITEMS)}
    assert [back[f"T{i}"]["description"] for i in range(len(AWKWARD))] == list(AWKWARD)
    assert all(r["ean"] is None for r in back.values())


def test_a_field_the_contract_adds_becomes_a_column(backend: Backend) -> None:
    """A table without a field of the contract (an older store) gets it when the store opens, at the end,
    in the latest table and the history alike; older rows read it as null."""
    with backend.open() as store:
        store.upsert(ITEMS, to_frame(ITEMS, [item("OLD", ean="1")]), run_id="r", partition="p", synced_at=SYNCED_AT)
        for table in ("items", "items_history"):
            store.query(f'ALTER TABLE {table} DROP COLUMN "ean"')
        assert "ean" not in store.table_columns("items")
    with backend.open() as store:
        for table in ("items", "items_history"):
            assert store.table_columns(table)[-1] == "ean"
        new = item("NEW", "2026-11-28T04:39:00.000Z", ean="4006381333931")
        assert store.upsert(ITEMS, to_frame(ITEMS, [new]), run_id="r", partition="p", synced_at=SYNCED_AT).inserted
        frame = store.frame(ITEMS)
        assert list(frame.columns) == [*ITEMS.field_names, "_hash", "_run_id", "_partition", "_synced_at"]
        eans = frame.set_index("itemCode")["ean"]
        assert eans["NEW"] == "4006381333931" and pd.isna(eans["OLD"])


def test_quality_tables_read_once_serve_every_rule(backend: Backend) -> None:
    """A `quality.Tables` handed to several rules gives the findings the store gives each rule."""
    with backend.open() as store:
        records = [item("A", listPrice="-1"), item("B", listPrice="x"), item("C")]
        store.upsert(ITEMS, to_frame(ITEMS, records), run_id="r", partition="p", synced_at=SYNCED_AT)
        with quality.Tables(store) as tables:
            assert quality.negative_price_or_stock(tables) == quality.negative_price_or_stock(store) != []
            assert quality.unparseable_decimals(tables, ITEMS) == quality.unparseable_decimals(store, ITEMS) != []
        assert quality.all_findings(store)["unparseable_decimals.items"][0]["key"] == "B"


def sync_like(store: SqlStore, at=SYNCED_AT) -> None:
    """Every entity's records, then changes, repeats, stale versions and a key twice in one batch."""
    for spec in entities().values():
        records = [node(spec, i) for i in range(30)]
        store.upsert(spec, to_frame(spec, records), run_id="r1", partition="p1", synced_at=at)
        store.advance_high_water_mark(spec, at)
        store.record_success(spec, run_id="r1", at=at, full=True)
    later = at + timedelta(minutes=1)
    batch = [
        item("K00001", "2026-11-28T05:00:00Z", listPrice="1.10"),
        item("K00001", "2026-11-28T05:00:00Z", listPrice="1.20"),
        item("K00002", "2020-01-01T00:00:00Z", listPrice="0.01"),
        item("NEW", "2026-11-28T05:00:00Z", status="DELETED"),
    ]
    store.upsert(ITEMS, to_frame(ITEMS, batch), run_id="r2", partition="p2", synced_at=later)
    store.record_success(ITEMS, run_id="r2", at=later)


@pytest.mark.postgres
def test_the_same_syncs_leave_both_backends_alike(tmp_path: Path, postgres_schema: tuple[str, str]) -> None:
    """DuckDB and PostgreSQL after the same upserts: equal latest tables and histories (values and
    column types), fingerprints, sync state, findings, manifests and snapshot records."""
    dsn, schema = postgres_schema
    with TenantStore.open(tmp_path / "t.duckdb") as duck, PostgresTenantStore.open(dsn, schema) as pg:
        sync_like(duck)
        sync_like(pg)
        published = SYNCED_AT + timedelta(hours=1)
        duck_manifest = duck.publish_snapshot(tmp_path / "snapshot", at=published)
        pg_manifest = pg.publish_snapshot(PostgresBlobs(dsn, schema=schema, table="snapshot"), at=published)
        assert duck_manifest == pg_manifest
        assert quality.all_findings(duck) == quality.all_findings(pg)
        for spec in entities().values():
            pd.testing.assert_frame_equal(duck.frame(spec), pg.frame(spec))
            pd.testing.assert_frame_equal(duck.history(spec), pg.history(spec))
            assert duck.fingerprint(spec) == pg.fingerprint(spec)
            assert (duck.high_water_mark(spec), duck.last_full(spec), duck.last_success(spec)) == (
                pg.high_water_mark(spec),
                pg.last_full(spec),
                pg.last_success(spec),
            )
    duck_snapshot = Snapshot(FolderBlobs(tmp_path / "snapshot"))
    pg_snapshot = Snapshot(PostgresBlobs(dsn, schema=schema, table="snapshot"))
    for spec in entities().values():
        assert list(duck_snapshot.records(spec)) == list(pg_snapshot.records(spec))


@pytest.mark.postgres
@pytest.mark.parametrize("round_", range(3))
def test_processes_opening_a_new_tenant_at_once_do_not_race(postgres_schema: tuple[str, str], round_: int) -> None:
    """Stores, and readers of its snapshot, opening the same new schema together all open it (its
    tables made once): a tenant's first sync and the shop sensor's first look may meet."""
    dsn, schema = postgres_schema
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def open_one(reader: bool) -> None:
        try:
            start.wait()
            if reader:
                assert Snapshot(PostgresBlobs(dsn, schema=schema, table="snapshot_files")).manifest() is None
            else:
                PostgresTenantStore.open(dsn, schema).close()
        except BaseException as error:  # any failure is the finding
            errors.append(error)

    threads = [threading.Thread(target=open_one, args=(n % 2 == 0,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    with PostgresTenantStore.open(dsn, schema) as store:
        assert store.count(ITEMS) == 0


def test_query_takes_question_mark_parameters_and_keeps_percent_signs(store: SqlStore) -> None:
    """`query` runs the same SQL on both backends: `?` placeholders, a literal `%` as it is."""
    assert store.query("SELECT 'x%' || CAST(? AS VARCHAR)", ["y"]) == [("x%y",)]


def test_a_schema_name_is_checked() -> None:
    """A PostgreSQL store refuses a schema name PostgreSQL would cut, before connecting."""
    with pytest.raises(ValueError, match="schema"):
        PostgresTenantStore(None, "x" * 64)  # type: ignore[arg-type]
