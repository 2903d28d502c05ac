"""Published snapshots of customers and segments for the intake's rights tests: a tenant store in tmp,
synced by hand (upsert, success recorded), published to a folder as a sync publishes it."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sonet_pipeline.standin.seed_data import generate_company
from sonet_pipeline.store import Snapshot, TenantStore, to_frame

SYNCED_AT = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def contract_record(record: dict[str, Any]) -> dict[str, Any]:
    """A stand-in record as the Query API sends it: dateModified as the contract's string."""
    stamp = record["dateModified"]
    text = stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z") if isinstance(stamp, datetime) else stamp
    return {**copy.deepcopy(record), "dateModified": text}


def seed_records(seed: int = 3, customers: int = 20) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The stand-in's customers and segments (C10042 with contacts C10042-1 ADMIN and C10042-2 BUYER in
    B2B-RAKENNUS, C10666 order-blocked, C10999 DELETED), in the contract's shape."""
    company = generate_company(seed, items=8, customers=customers)
    return [contract_record(r) for r in company.customers], [contract_record(r) for r in company.customer_segments]


def publish(
    folder: Path,
    customers: Iterable[dict[str, Any]],
    segments: Iterable[dict[str, Any]],
    *,
    synced: bool = True,
) -> Snapshot:
    """Upsert the records into the store beside `folder` and publish its snapshot to `folder`; with
    `synced` False the entities are published without a recorded sync (an initial load in progress)."""
    with TenantStore.open(folder.parent / f"{folder.name}.duckdb") as store:
        for name, records in (("customers", list(customers)), ("segments", list(segments))):
            if records:
                store.upsert(name, to_frame(name, records), run_id="test", partition="test", synced_at=SYNCED_AT)
            if synced:
                store.record_success(name, run_id="test", at=SYNCED_AT)
        store.publish_snapshot(folder)
    return Snapshot(folder)
