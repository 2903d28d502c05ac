"""A published snapshot with the buyers' prices for the intake's price tests: the stand-in's seed
customers, segments and items, and price list lines of C10042's list PL-RAKENNUS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sonet_pipeline.standin.seed_data import generate_company
from sonet_pipeline.store import Snapshot, TenantStore, to_frame
from tests.intake.rights_snapshot import SYNCED_AT, contract_record
from tests.prices.samples import price_list_line


def price_line(line_id: str, item: str, price: str, *, price_list: str = "PL-RAKENNUS", **more: Any) -> dict[str, Any]:
    """A line of C10042's list PL-RAKENNUS unless `price_list` says otherwise."""
    return price_list_line(line_id, item, price, price_list=price_list, modified="2026-11-01T00:00:00.000Z", **more)


#: C10042 (PL-RAKENNUS) pays the list price 59.90 for BOOT-PRO-43 (a line says so) and 3.90 for
#: GLOVE-WORK from 10 on (list price 4.15): the contract's B2B example (12 gloves at 4.15) is one
#: line off; a guest pays the list prices, which the example's lines carry.
LINES = [
    price_line("RAK-BOOT-43", "BOOT-PRO-43", "59.90"),
    price_line("RAK-GLOVE-10", "GLOVE-WORK", "3.90", minimum="10"),
]


def publish_prices(folder: Path, lines: list[dict[str, Any]] = LINES) -> Snapshot:
    """The seed's customers, segments and items and `lines`, synced and published to `folder`."""
    company = generate_company(3, items=8, customers=20)
    entities = {
        "customers": [contract_record(r) for r in company.customers],
        "segments": [contract_record(r) for r in company.customer_segments],
        "items": [contract_record(r) for r in company.items],
        "price_list_lines": lines,
    }
    with TenantStore.open(folder.parent / f"{folder.name}.duckdb") as store:
        for name, records in entities.items():
            store.upsert(name, to_frame(name, records), run_id="test", partition="test", synced_at=SYNCED_AT)
            store.record_success(name, run_id="test", at=SYNCED_AT)
        store.publish_snapshot(folder)
    return Snapshot(folder)
