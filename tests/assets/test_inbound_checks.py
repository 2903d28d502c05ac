"""The inbound assets' checks: blocking where bad data must not flow on, warnings that name records,
and freshness judged on its own (`test_freshness.py`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dagster import AssetCheckSeverity, DagsterEventType

from sonet_pipeline.cli.runs.sync import run_sync
from sonet_pipeline.config.tenants import load_tenants
from sonet_pipeline.definitions import build_definitions
from sonet_pipeline.jobs.cli_runs import prepare_instance
from tests.standin.standin_http import TOKENS

pytestmark = pytest.mark.slow


@pytest.fixture
def tenants_file(sonet, tmp_path, monkeypatch):
    path = tmp_path / "tenants.yaml"
    path.write_text(
        f"tenants:\n  - name: acme\n    sonet: {{base_url: '{sonet.base_url}', company: '01', token_env: ACME_T}}\n"
    )
    monkeypatch.setenv("ACME_T", TOKENS["01"])
    return path


def sync_checks(sonet, tenants_file) -> dict[str, object]:
    """Run the sync for the hour in progress as the CLI does; its check evaluations by `entity/check`."""
    tenants = load_tenants(tenants_file)
    defs = build_definitions(tenants, clock=sonet.clock)
    summary = run_sync(defs, prepare_instance(), tenants, now=datetime(2026, 11, 28, 4, 30, tzinfo=UTC))
    instance = prepare_instance()
    steps = instance.get_records_for_run(summary.run_id, of_type=DagsterEventType.STEP_START).records
    assert [r.event_log_entry.step_key for r in steps] == ["acme__sonet_sync"], "freshness is judged by its own job"
    records = instance.get_records_for_run(summary.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
    evaluations = [record.event_log_entry.dagster_event.event_specific_data for record in records.records]
    return {f"{e.asset_key.path[-1]}/{e.check_name}": e for e in evaluations}


def test_seed_data_warnings_name_their_records(sonet, tenants_file):
    """The seed's dangling segment codes fail a warning check whose sample names the customers and codes."""
    checks = sync_checks(sonet, tenants_file)
    assert all(checks[f"{entity}/unique_keys"].passed for entity in ("items", "customers", "segments"))
    assert checks["items/decimals_parse"].passed and checks["customers/decimals_parse"].passed
    segments = checks["customers/segment_codes_exist"]
    assert not segments.passed and segments.severity == AssetCheckSeverity.WARN
    sample = segments.metadata["sample"].value
    assert "C10999" in sample or "B2B-VANHA" in sample or "reseller-north" in sample
    assert segments.metadata["offenders"].value >= 1


def test_price_list_lines_of_unknown_items_and_ties_fail_a_warning_naming_them(sonet, tenants_file):
    """The seed's price lists name items that do not exist and hold a double entry (GLOVE-WORK twice in
    PL-RESELLER): a WARN check names those lines; their blocking checks pass, the snapshot publishes."""
    checks = sync_checks(sonet, tenants_file)
    assert checks["price_list_lines/unique_keys"].passed and checks["price_list_lines/decimals_parse"].passed
    lines = checks["price_list_lines/lines_price_clearly"]
    assert not lines.passed and lines.severity == AssetCheckSeverity.WARN
    sample = lines.metadata["sample"].value
    assert "unknown item" in sample and "BOOT-PRO-44" in sample and "PLL-0000008" in sample
    assert "tie" in sample and "PLL-0000005" in sample and "PLL-0000006" in sample
    assert checks["price_list_lines/unique_keys"].metadata["snapshot_held"].value is False


def test_an_unparseable_decimal_fails_a_blocking_check(sonet, tenants_file):
    """A price that is not the contract's decimal text is stored as sent, and the blocking check fails,
    naming the item and holding the snapshot back: a string is the Decimal scalar's wire type, so the
    Query client takes the page and the store's rule judges the text."""
    sonet.change("items", [{"itemCode": "GLOVE-WORK", "listPrice": "4,15"}])
    checks = sync_checks(sonet, tenants_file)
    decimals = checks["items/decimals_parse"]
    assert not decimals.passed and decimals.severity == AssetCheckSeverity.ERROR
    assert "GLOVE-WORK" in decimals.metadata["sample"].value
    assert decimals.metadata["snapshot_held"].value is True
