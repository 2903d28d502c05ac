"""The sync of price list lines (contract 1.1) from a running stand-in into a store, on DuckDB and on
PostgreSQL: a bulk list update stamping thousands of lines with one millisecond crosses pages by cursor,
a line committed late is read by the next sync's lookback, a deletion stays with its status, and the
store's history keeps each version read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from sonet_pipeline.inbound.sync import EntitySync, sync_entity
from sonet_pipeline.inbound.windows import choose_window
from sonet_pipeline.sonet.entities import entity
from sonet_pipeline.sonet.query import SonetQueryClient
from sonet_pipeline.store import SqlStore, TenantStore
from sonet_pipeline.store.postgres_store import PostgresTenantStore
from sonet_pipeline.store.records import format_instant, to_graphql
from tests.sonet.standin_clients import query_client_of
from tests.standin.standin_http import SonetClient, parse_instant

pytestmark = pytest.mark.slow
LINES = entity("price_list_lines")
LOOKBACK = timedelta(seconds=120)  # the contract's 90 s lag, and a margin


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    if request.param == "duckdb":
        opened: SqlStore = TenantStore.open(tmp_path / "tenant.duckdb")
    else:
        dsn, schema = request.getfixturevalue("postgres_schema")
        opened = PostgresTenantStore.open(dsn, schema)
    yield opened
    opened.close()


def client_of(sonet: SonetClient) -> SonetQueryClient:
    """A client within the stand-in's default limits, on its clock."""
    return query_client_of(sonet, limits=(5, 10, 4), credentials_hint="check the token")


def sync(sonet: SonetClient, client: SonetQueryClient, store: SqlStore, run_id: str) -> EntitySync:
    """One sync of the lines as the pipeline runs it: from the high-water mark minus the lookback."""
    window = choose_window(high_water_mark=store.high_water_mark(LINES), lookback=LOOKBACK, now=sonet.clock.now())
    return sync_entity(client, store, LINES, window, run_id=run_id, partition="", clock=sonet.clock)


def stored(store: SqlStore) -> dict[str, dict]:
    """The store's lines, as `store dump` writes them (the contract's fields, instants as UTC `Z`)."""
    frame = store.frame(LINES)
    return {row["lineId"]: to_graphql(LINES, row) for row in frame.to_dict("records")}


def expected(sonet: SonetClient) -> dict[str, dict]:
    """The stand-in's lines, every version committed, in the same formats."""
    lines = {}
    for line in sonet.state("priceListLines"):
        for name in ("dateModified", "validFrom", "validTo"):
            if line[name] is not None:
                line[name] = format_instant(parse_instant(line[name]))
        lines[line["lineId"]] = line
    return lines


def test_bulk_updates_late_commits_and_deletions_reach_the_store(start_standin, store: SqlStore) -> None:
    """After the initial load, a bulk update of 2,500 lines at one millisecond (five pages and more), a
    deletion and a change committed 60 s late: the store equals the stand-in field by field once the
    late change is visible, and its history holds the versions read."""
    sonet = start_standin(items=3000, lag_seconds=90, query_limits=None)
    client = client_of(sonet)
    first = sync(sonet, client, store, "initial")
    assert first.window.kind == "initial" and stored(store) == expected(sonet)

    sonet.advance(5)
    bulk = {"entity": "priceListLines", "count": 2500, "percent": "4"}
    assert sonet.admin_json("POST", "/companies/01/bulk-update", json=bulk) == {"changed": 2500}
    [bulk_stamp] = {
        line["dateModified"] for line in expected(sonet).values() if line["dateModified"] > format_instant(_at(first))
    }
    late_id, deleted_id = sorted(stored(store))[100], sorted(stored(store))[200]
    late = sonet.change("priceListLines", [{"lineId": late_id, "price": "12.34"}], delay_seconds=60)
    sonet.admin_json("POST", "/companies/01/changes", json={"entity": "priceListLines", "delete": [deleted_id]})
    sonet.advance(5)

    second = sync(sonet, client, store, "bulk")
    assert second.pages >= 5 and second.counts.updated >= 2500  # 2,500 lines of one millisecond, by cursor
    lines = stored(store)
    assert sum(line["dateModified"] == bulk_stamp for line in lines.values()) >= 2498
    assert lines[deleted_id]["status"] == "DELETED"
    assert lines[late_id]["price"] != "12.34"  # committed, not yet visible: stamped before the mark
    assert parse_instant(late["versions"][0]["dateModified"]) <= _at(second)

    sonet.advance(60)
    sync(sonet, client, store, "late")  # the lookback reaches back past the late line's stamp
    assert stored(store) == expected(sonet)
    history = store.history(LINES)
    versions = history[history["lineId"] == late_id]
    assert len(versions) >= 2 and "12.34" in set(versions["price"])
    assert set(history[history["lineId"] == deleted_id]["status"]) >= {"DELETED"}
    assert len(history) >= len(expected(sonet)) + 2500


def _at(result: EntitySync) -> datetime:
    assert result.high_water_mark is not None
    return result.high_water_mark
