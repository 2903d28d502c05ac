"""The tenant store's bulk upsert on both backends: 100,000 items in the sync's batches, timed.

For each backend, the same frames (the seed company's items through `to_frame` in batches of 5,000,
as `inbound/sync.py` upserts them; building them is not timed):

- DuckDB: `TenantStore` on a file in a temp dir under `bench/out/` (the embedded default);
- PostgreSQL: `PostgresTenantStore` in a throwaway schema of the server at `SONET_BENCH_POSTGRES_DSN`
  (default `postgresql://postgres@127.0.0.1:5432/postgres`, production's backend), dropped afterwards;

three passes of `upsert` (the initial load: every item inserted; the same frames again: every item
unchanged; every item changed, later: every item updated, its old version kept in the history), then
`publish_snapshot` (to a folder, or to a PostgreSQL table as production does), `frame("items")`, and
the items' quality rules as the sync's checks run them (`quality.Tables`). Rates are rows per second
of the frames; each pass is the best of `--rounds` on a fresh store.

    .venv/bin/python bench/store_backends.py [--items 100000] [--batch 5000] [--rounds 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from _standin import REPO, print_table

OUT = REPO / "bench" / "out"
SEED = 7
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DSN = os.environ.get("SONET_BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def frames(items: int, batch: int) -> tuple[list[Any], list[Any]]:
    """The items' frames as first read, and as read again after every item changed a minute later."""
    from sonet_pipeline.standin.seed_data import generate_company
    from sonet_pipeline.store import format_instant, to_frame

    first, changed = [], []
    records = generate_company(SEED, items=items).items
    while chunk := list(islice(records, batch)):
        for record in chunk:  # as Sonet sends it: a DateTime is text with an offset
            record["dateModified"] = format_instant(record["dateModified"])
        first.append(to_frame("items", chunk))
        later = format_instant(NOW + timedelta(minutes=1))
        changed.append(to_frame("items", [{**r, "stockBalance": "0", "dateModified": later} for r in chunk]))
    return first, changed


@contextmanager
def duckdb_place(work: Path) -> Iterator[tuple[Callable[[], Any], Any]]:
    from sonet_pipeline.common.blobs import FolderBlobs
    from sonet_pipeline.store import TenantStore

    name = uuid.uuid4().hex[:8]
    yield (lambda: TenantStore.open(work / f"{name}.duckdb")), FolderBlobs(work / f"{name}-snapshot")


@contextmanager
def postgres_place(work: Path) -> Iterator[tuple[Callable[[], Any], Any]]:
    import psycopg
    from psycopg import sql

    from sonet_pipeline.common.postgres_blobs import PostgresBlobs
    from sonet_pipeline.store.postgres_store import PostgresTenantStore

    schema = f"bench_store_{uuid.uuid4().hex[:12]}"
    try:
        yield (lambda: PostgresTenantStore.open(DSN, schema)), PostgresBlobs(DSN, schema=schema, table="snapshot")
    finally:
        with psycopg.connect(DSN, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def measure(place: Callable[[Path], Any], work: Path, first: list[Any], changed: list[Any]) -> dict[str, float]:
    """Seconds of each pass on a fresh store."""
    from sonet_pipeline.store import UpsertCounts, quality
    from sonet_pipeline.store.quality import model_name_disagreements, negative_price_or_stock

    seconds: dict[str, float] = {}
    with place(work) as (open_store, blobs), open_store() as store:
        for label, batches, expect in (
            ("inserted", first, "inserted"),
            ("unchanged", first, "unchanged"),
            ("updated", changed, "updated"),
        ):
            started, total = time.perf_counter(), UpsertCounts()
            for frame in batches:
                total += store.upsert("items", frame, run_id=label, partition="bench", synced_at=NOW)
            seconds[label] = time.perf_counter() - started
            rows = sum(len(f) for f in batches)
            assert getattr(total, expect) == rows, (label, total)
        started = time.perf_counter()
        store.publish_snapshot(blobs, at=NOW)
        seconds["publish_snapshot"] = time.perf_counter() - started
        started = time.perf_counter()
        assert len(store.frame("items")) == sum(len(f) for f in first)
        seconds["frame"] = time.perf_counter() - started
        started = time.perf_counter()
        with quality.Tables(store) as tables:
            quality.duplicate_keys(tables, "items")
            quality.unparseable_decimals(tables, "items")
            model_name_disagreements(tables)
            quality.shared_variant_attributes(tables)
            negative_price_or_stock(tables)
        seconds["checks"] = time.perf_counter() - started
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    first, changed = frames(args.items, args.batch)
    load = os.getloadavg()[0]
    results: dict[str, dict[str, float]] = {}
    for name, place in (("DuckDB", duckdb_place), ("PostgreSQL", postgres_place)):
        best: dict[str, float] = {}
        for _ in range(args.rounds):
            work = Path(tempfile.mkdtemp(prefix="store-backends-", dir=OUT))
            try:
                for key, value in measure(place, work, first, changed).items():
                    best[key] = min(best.get(key, value), value)
            finally:
                shutil.rmtree(work, ignore_errors=True)
        results[name] = best
    n = args.items
    print(
        f"store upsert of {n:,} items in batches of {args.batch:,}, best of {args.rounds}, "
        f"{os.cpu_count()} cores, load {load:.1f}, Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d}"
    )
    rows = []
    for label in ("inserted", "unchanged", "updated"):
        rows.append(
            (
                f"upsert, every item {label}, rows/s",
                *(f"{n / results[b][label]:,.0f} ({results[b][label]:.2f} s)" for b in results),
            )
        )
    for label in ("publish_snapshot", "frame", "checks"):
        rows.append(
            (
                f"{label} (items{'' if label != 'publish_snapshot' else ' + 3 empty entities'}), s",
                *(f"{results[b][label]:.2f}" for b in results),
            )
        )
    print_table(("what", *results), rows)


if __name__ == "__main__":
    main()
