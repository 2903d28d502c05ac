"""The inbound sync, end to end through Dagster against a running stand-in at its hardest settings.

After the sync, each tenant's store equals the stand-in's full state: no record missing, none twice,
every field equal. The same scenario with the lookback removed, or with paging restarted by
timestamp, leaves the store wrong: the comparison catches both.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sonet_pipeline.assets import tenant_sync
from sonet_pipeline.cli.main import main
from sonet_pipeline.cli.runs.sync import run_sync
from sonet_pipeline.config.tenants import load_tenants
from sonet_pipeline.definitions import build_definitions
from sonet_pipeline.jobs.cli_runs import prepare_instance
from sonet_pipeline.sonet.query import SonetQueryClient
from sonet_pipeline.standin.runtime import ApiLimits, Faults
from sonet_pipeline.store import open_snapshot, open_store
from sonet_pipeline.store.postgres_store import PostgresTenantStore
from tests.standin.standin_http import TOKENS, SonetClient

pytestmark = pytest.mark.slow

COMPANIES = {"acme": "01", "nordic": "02"}
ENTITIES = {
    "items": ("items", "itemCode"),
    "customers": ("customers", "customerNumber"),
    "segments": ("customerSegments", "segmentCode"),
    "price_list_lines": ("priceListLines", "lineId"),
}
LATE_ITEM = "GLOVE-WORK"  # the stand-in's activity never touches it: the late change below stays the last
LATE_LINE = "PLL-0000001"  # nor this price list line (BOOT-PRO-43 in PL-RAKENNUS)
#: The fields that hold instants, compared as instants (the stand-in may write them with +02:00).
INSTANT_FIELDS = ("dateModified", "validFrom", "validTo")


@pytest.fixture
def hard_sonet(start_standin) -> SonetClient:
    """Two companies, throttled at the contract's defaults, 15 % 503s, changes committing up to 90 s late."""
    return start_standin(
        items=1500,
        companies=tuple(COMPANIES.values()),
        query_limits=ApiLimits(rate=5, burst=10, in_flight=4),
        lag_seconds=90,
        late_share=0.3,
        mixed_offsets=True,
        faults=Faults(unavailable_share=0.15, unavailable_retry_after=2),
    )


def write_tenants(sonet: SonetClient, folder: Path, monkeypatch) -> Path:
    lines = ["tenants:"]
    for name, company in COMPANIES.items():
        lines += [
            f"  - name: {name}",
            f"    sonet: {{base_url: '{sonet.base_url}', company: '{company}', token_env: {name.upper()}_TOKEN,",
            "            query_limits: {rate: 5, burst: 10, in_flight: 4}}",
        ]
        monkeypatch.setenv(f"{name.upper()}_TOKEN", TOKENS[company])
    path = folder / "tenants.yaml"
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("SONET_PIPELINE_TENANTS", str(path))
    return path


class Pipeline:
    """The deployment under test: its definitions on the stand-in's clock, and one Dagster instance."""

    def __init__(self, sonet: SonetClient) -> None:
        self.sonet = sonet
        self.tenants = load_tenants()
        self.defs = build_definitions(self.tenants, clock=sonet.clock)
        self.instance = prepare_instance()

    def sync(self, **options):
        summary = run_sync(self.defs, self.instance, self.tenants, now=self.sonet.clock.now(), **options)
        assert summary.success, summary.failures
        return summary


def normalized(record: dict) -> dict:
    instants = {name: record[name] for name in INSTANT_FIELDS if record.get(name) is not None}
    return {**record, **{name: datetime.fromisoformat(text).astimezone(UTC) for name, text in instants.items()}}


def differences(sonet: SonetClient, companies: dict[str, str] = COMPANIES) -> dict[str, int]:
    """Per tenant and entity: how many keys differ between the store's snapshot and Sonet's full state
    (`companies`: tenant -> its Sonet company)."""
    found = {}
    for tenant, company in companies.items():
        snapshot = open_snapshot(tenant)  # where the settings put it: the data dir, or PostgreSQL
        for name, (standin_entity, key) in ENTITIES.items():
            expected = {r[key]: normalized(r) for r in sonet.state(standin_entity, company=company)}
            stored = list(snapshot.records(name))
            actual = {r[key]: normalized(r) for r in stored}
            assert len(actual) == len(stored), f"{tenant} {name}: a key twice in the store"
            wrong = {k for k in expected.keys() | actual.keys() if expected.get(k) != actual.get(k)}
            if wrong:
                found[f"{tenant}/{name}"] = len(wrong)
    return found


def erp_activity(sonet: SonetClient, round_number: int) -> None:
    """A minute of hard ERP life in both companies: a bulk update of 1,200 items in one millisecond, and
    one of 1,800 price list lines in another (four pages), deletions and edits (30 % committing late),
    and an item's and a price list line's change committed 60 s after its stamp."""
    for company in COMPANIES.values():
        base = f"/companies/{company}"
        sonet.admin_json("POST", f"{base}/bulk-update", json={"entity": "items", "count": 1200, "percent": "1"})
        sonet.advance(0.01)
        bulk = {"entity": "priceListLines", "count": 1800, "percent": "-2"}
        assert sonet.admin_json("POST", f"{base}/bulk-update", json=bulk)["changed"] == 1800
        late = (
            ("items", {"itemCode": LATE_ITEM, "stockBalance": f"{100 + round_number}"}),
            ("priceListLines", {"lineId": LATE_LINE, "price": f"{52 + round_number}.90"}),
        )
        for entity, record in late:
            sonet.admin_json(
                "POST", f"{base}/changes", json={"entity": entity, "records": [record], "delay_seconds": 60}
            )
    sonet.advance(10)
    for company in COMPANIES.values():
        sonet.admin_json("POST", f"/companies/{company}/random-changes", json={"count": 80, "seed": round_number})


def run_scenario(sonet: SonetClient, pipeline: Pipeline) -> dict[str, int]:
    pipeline.sync()  # the initial load
    for round_number in range(2):
        erp_activity(sonet, round_number)
        sonet.advance(10)
        pipeline.sync()  # sees the changes committed so far: its high-water mark passes the late one
        sonet.advance(60)
        pipeline.sync()  # the late change is visible now, stamped before the high-water mark
    sonet.advance(100)  # everything committed
    pipeline.sync()
    return differences(sonet)


def test_store_equals_sonet_after_bulk_updates_late_commits_deletions_503s_and_throttling(
    hard_sonet, tmp_path, monkeypatch
):
    """Both tenants' stores equal the stand-in's full state, field by field, after the hardest scenario."""
    write_tenants(hard_sonet, tmp_path, monkeypatch)
    assert run_scenario(hard_sonet, Pipeline(hard_sonet)) == {}
    counters = hard_sonet.admin_json("GET", "/companies/01/counters")
    assert counters["responses"]["query"].get("503", 0) > 0, "the scenario met no 503: not hard enough"
    deleted = [r for r in open_snapshot("acme").records("items") if r["status"] == "DELETED"]
    assert deleted, "deleted items are kept with their status"
    lines = {r["lineId"]: r for r in open_snapshot("acme").records("price_list_lines")}
    assert lines[LATE_LINE]["price"] == "53.90", "the line's change committed late is in"
    assert {"PASSIVE", "DELETED"} <= {r["status"] for r in lines.values()}


@pytest.mark.postgres
def test_in_production_mode_the_store_in_postgresql_equals_sonet(
    hard_sonet, tmp_path, monkeypatch, postgres_database, _isolated_data_dir, capsys
):
    """With SONET_PIPELINE_POSTGRES_DSN set, the same hardest scenario through Dagster leaves each tenant's
    PostgreSQL store and its snapshot (in PostgreSQL too) equal to Sonet, DELETED kept, and no store or
    snapshot on the worker's disk: `store dump` on another host (another data dir) prints Sonet's items."""
    monkeypatch.setenv("SONET_PIPELINE_POSTGRES_DSN", postgres_database)
    write_tenants(hard_sonet, tmp_path, monkeypatch)
    assert run_scenario(hard_sonet, Pipeline(hard_sonet)) == {}
    for tenant, company in COMPANIES.items():
        assert open_snapshot(tenant).describe().startswith("postgresql://")
        with open_store(tenant) as store:
            assert isinstance(store, PostgresTenantStore)
            for name, (standin_entity, key) in ENTITIES.items():
                assert store.keys(name) == {r[key] for r in hard_sonet.state(standin_entity, company=company)}
            assert "DELETED" in set(store.frame("items")["status"])
            assert store.high_water_mark("items") is not None and store.last_success("items") is not None
    assert not (_isolated_data_dir / "store").exists()
    monkeypatch.setenv("SONET_PIPELINE_DATA_DIR", str(tmp_path / "another-host"))
    capsys.readouterr()
    assert main(["store", "dump", "--tenant", "nordic", "--entity", "items"]) == 0
    dumped = [normalized(json.loads(line)) for line in capsys.readouterr().out.splitlines()]
    expected = sorted(hard_sonet.state("items", company="02"), key=lambda r: r["itemCode"])
    assert dumped == [normalized(r) for r in expected]


def test_the_comparison_catches_a_sync_without_lookback(hard_sonet, tmp_path, monkeypatch):
    """Removing the lookback loses the changes committed late (an item's, a price list line's): the store
    no longer equals Sonet."""
    write_tenants(hard_sonet, tmp_path, monkeypatch)
    choose = tenant_sync.choose_window
    monkeypatch.setattr(tenant_sync, "choose_window", lambda **kw: choose(**{**kw, "lookback": timedelta(0)}))
    assert {"acme/items", "acme/price_list_lines"} <= set(run_scenario(hard_sonet, Pipeline(hard_sonet)))


def test_the_comparison_catches_paging_restarted_by_timestamp(hard_sonet, tmp_path, monkeypatch):
    """Restarting each page from the last dateModified seen skips records sharing one millisecond (items and
    price list lines of the bulk updates)."""
    write_tenants(hard_sonet, tmp_path, monkeypatch)
    by_cursor = SonetQueryClient.iter_pages

    def by_timestamp(self, spec, *, first=500, modified_from=None, modified_to=None):
        while True:
            page = next(by_cursor(self, spec, first=first, modified_from=modified_from, modified_to=modified_to))
            yield page
            if not page.has_next_page:
                return
            last = max(datetime.fromisoformat(r["dateModified"]) for r in page.records)
            modified_from = last + timedelta(milliseconds=1)

    monkeypatch.setattr(SonetQueryClient, "iter_pages", by_timestamp)
    assert {"acme/items", "acme/price_list_lines"} <= set(run_scenario(hard_sonet, Pipeline(hard_sonet)))


def test_wrong_credentials_fail_only_that_tenant_and_name_it(sonet_two, tmp_path, monkeypatch, capsys):
    """A wrong token fails its tenant at once, named, token unshown; the other tenant still syncs."""
    write_tenants(sonet_two, tmp_path, monkeypatch)
    monkeypatch.setenv("NORDIC_TOKEN", "not-the-token")
    assert main(["sync", "--json"]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["success"] is False
    assert set(summary["tenants"]) == {"acme"}
    assert any("nordic" in failure and "UNAUTHENTICATED" in failure for failure in summary["failures"])
    assert "not-the-token" not in json.dumps(summary)


@pytest.fixture
def sonet_two(start_standin) -> SonetClient:
    return start_standin(items=200, companies=tuple(COMPANIES.values()))


def test_cli_sync_dump_and_backfill_of_a_past_window(sonet_two, tmp_path, monkeypatch, capsys):
    """`sync` loads, `store dump` prints Sonet's records as the contract writes them, and re-reading a
    past window with --from/--to brings back what a broken store lost, leaving the rest untouched."""
    write_tenants(sonet_two, tmp_path, monkeypatch)
    pipeline = Pipeline(sonet_two)
    pipeline.sync()
    assert main(["store", "dump", "--tenant", "acme", "--entity", "items"]) == 0
    dumped = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert dumped == sorted(sonet_two.state("items", company="01"), key=lambda r: r["itemCode"])
    assert main(["store", "dump", "--tenant", "acme", "--entity", "price_list_lines"]) == 0
    dumped = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert dumped == sorted(sonet_two.state("priceListLines", company="01"), key=lambda r: r["lineId"])
    assert any(r["validFrom"] is not None for r in dumped) and any(r["validTo"] is None for r in dumped)

    window_start = sonet_two.clock.now()
    sonet_two.admin_json("POST", "/companies/01/random-changes", json={"count": 30, "seed": 5})
    sonet_two.advance(5)
    window_end = sonet_two.clock.now()
    sonet_two.advance(3600)  # the window is long past; no regular sync has read it
    assert differences(sonet_two)  # the store misses the window's changes
    args = ["sync", "--tenant", "acme", "--from", window_start.isoformat(), "--to", window_end.isoformat()]
    assert main(args) == 0
    assert "acme/items" not in differences(sonet_two) and "acme/customers" not in differences(sonet_two)
