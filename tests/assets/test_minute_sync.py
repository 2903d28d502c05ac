"""The minute sync's shard steps: events grow with changes, not with tenants × minutes.

Two tenants on a stand-in; a minute in which only acme's items changed: acme's items are materialized
with their figures and checked, nordic (idle) costs at most 3 events (its step's start and end and
its sync's observation; with both tenants in one step, the observation alone), which carries the
last update that Dagster's freshness check judges. A blocking rule broken in nordic's Sonet holds its snapshot back
and fails the step naming it, while acme, in the same shard, still syncs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dagster import AssetCheckSeverity, AssetKey, DagsterEventType

from sonet_pipeline.assets.tenant_sync import LAST_UPDATED
from sonet_pipeline.config.tenants import load_tenants
from sonet_pipeline.definitions import build_definitions
from sonet_pipeline.jobs.cli_runs import execute_job, prepare_instance
from sonet_pipeline.jobs.sync import MINUTE_SYNC_JOB
from sonet_pipeline.resources.store import StoreResource
from tests.standin.standin_http import TOKENS, SonetClient

pytestmark = pytest.mark.slow
COMPANIES = {"acme": "01", "nordic": "02"}


class Minute:
    """The code location on the stand-in's clock, with `shard_size` tenants a step."""

    def __init__(self, sonet: SonetClient, folder: Path, monkeypatch: pytest.MonkeyPatch, shard_size: int) -> None:
        lines = ["tenants:"]
        for name, company in COMPANIES.items():
            lines.append(f"  - {{name: {name}, sonet: {{base_url: '{sonet.base_url}', company: '{company}', ")
            lines[-1] += f"token_env: {name.upper()}_T}}}}"
            monkeypatch.setenv(f"{name.upper()}_T", TOKENS[company])
        (folder / "tenants.yaml").write_text("\n".join(lines) + "\n")
        monkeypatch.setenv("SONET_PIPELINE_SYNC_SHARD_SIZE", str(shard_size))
        self.sonet = sonet
        self.defs = build_definitions(load_tenants(folder / "tenants.yaml"), clock=sonet.clock)
        self.instance = prepare_instance()

    def run(self, job: str = MINUTE_SYNC_JOB) -> Any:
        return execute_job(self.defs.resolve_job_def(job), self.instance)

    def records(self, run_id: str) -> list[Any]:
        return list(self.instance.all_logs(run_id))


def tenant_of(record: Any) -> str | None:
    """The tenant an event is about (its asset's first part), or None (a step's or the run's own)."""
    event = record.dagster_event
    key = event.asset_key if event is not None and event.asset_key is not None else None
    if key is None and event is not None and event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
        key = event.event_specific_data.asset_key
    return key.path[0] if key is not None else None


def change_acme_items(sonet: SonetClient) -> None:
    body = {"entity": "items", "records": [{"itemCode": "BOOT-PRO-45", "stockBalance": "7"}]}
    sonet.admin_json("POST", "/companies/01/changes", json=body)
    sonet.advance(2)


@pytest.fixture
def sonet_two(start_standin) -> SonetClient:
    return start_standin(items=200, companies=tuple(COMPANIES.values()), lag_seconds=0, late_share=0.0)


def test_an_idle_tenant_costs_at_most_three_events_with_a_step_per_tenant(sonet_two, tmp_path, monkeypatch):
    minute = Minute(sonet_two, tmp_path, monkeypatch, shard_size=1)
    initial = minute.run()  # the initial load of both
    assert initial.success
    # Dagster's own names: the rows in the store, and its columns from the contract's GraphQL type.
    loaded = {
        e.asset_key.to_user_string(): e.materialization.metadata for e in initial.get_asset_materialization_events()
    }
    assert (
        loaded["acme/sonet/items"]["dagster/row_count"].value
        == loaded["nordic/sonet/items"]["dagster/row_count"].value
        == 200
    )
    columns = {c.name: c for c in loaded["nordic/sonet/items"]["dagster/column_schema"].value.columns}
    assert columns["itemCode"].type == "ID!" and columns["itemCode"].constraints.unique
    assert columns["listPrice"].type == "Decimal" and columns["listPrice"].constraints.nullable
    sonet_two.advance(60)
    change_acme_items(sonet_two)

    result = minute.run()
    assert result.success
    records = minute.records(result.run_id)
    nordic_step = "sonet_sync_shard_001"
    nordic = [r for r in records if r.step_key == nordic_step or tenant_of(r) == "nordic"]
    assert len(nordic) <= 3, [r.dagster_event.event_type_value if r.dagster_event else r.user_message for r in nordic]
    kinds = {r.dagster_event.event_type_value for r in nordic if r.dagster_event}
    assert "ASSET_MATERIALIZATION" not in kinds and "ASSET_CHECK_EVALUATION" not in kinds

    materialized = {e.asset_key.path[-1]: e for e in result.get_asset_materialization_events()}
    assert set(materialized) == {"items"} and materialized["items"].asset_key.path[0] == "acme"
    figures = materialized["items"].materialization.metadata
    assert figures["updated"].value + figures["inserted"].value >= 1 and figures["snapshot_held"].value is False
    assert figures["window"].value.startswith("delta")
    assert figures["dagster/row_count"].value == 200  # acme's store; a delta leaves the columns to the definition
    assert "dagster/column_schema" not in figures
    checks = {e.check_name for e in result.get_asset_check_evaluations() if e.asset_key.path[0] == "acme"}
    assert {"unique_keys", "decimals_parse", "model_names_agree"} <= checks
    assert all(e.asset_key.path[-1] == "items" for e in result.get_asset_check_evaluations())

    # Freshness: nordic materialized nothing this minute; its sync's observation carries the last update
    # that Dagster's freshness check reads (tests/assets/test_freshness.py judges it).
    [observed] = minute.instance.fetch_observations(AssetKey(["nordic", "sonet", "sync"]), limit=1).records
    status = observed.asset_observation.metadata
    assert status["entities_changed"].value == 0 and status["snapshot"].value == "published"
    assert status[LAST_UPDATED].value == status["last_synced"].value  # when the sync finished


def test_a_shard_amortizes_its_steps_events_and_a_blocking_rule_still_blocks(sonet_two, tmp_path, monkeypatch):
    minute = Minute(sonet_two, tmp_path, monkeypatch, shard_size=2)
    assert [n.name for n in minute.defs.resolve_job_def(MINUTE_SYNC_JOB).nodes] == ["sonet_sync_shard_000"]
    assert minute.run().success
    sonet_two.advance(60)
    change_acme_items(sonet_two)
    result = minute.run()
    nordic = [r for r in minute.records(result.run_id) if tenant_of(r) == "nordic"]
    assert [r.dagster_event.event_type_value for r in nordic] == ["ASSET_OBSERVATION"]

    published = StoreResource().snapshot("nordic").manifest()["entities"]["items"]
    changed = {"entity": "items", "records": [{"itemCode": "BOOT-PRO-45", "stockBalance": "8"}]}
    sonet_two.admin_json("POST", "/companies/02/changes", json=changed)
    sonet_two.admin_json(  # a faulty Sonet lists the changed item twice
        "POST",
        "/companies/02/duplicates",
        json={"entity": "items", "records": [{"itemCode": "BOOT-PRO-45", "stockBalance": "9"}]},
    )
    sonet_two.advance(2)
    result = minute.run()
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert "nordic: snapshot held back by blocking checks (items/unique_keys: 1 record(s))" in str(
        failure.step_failure_data.user_failure_data.description
    )
    [check] = [
        e
        for e in result.get_asset_check_evaluations()
        if e.asset_key.path[0] == "nordic" and e.check_name == "unique_keys"
    ]
    assert not check.passed and check.severity == AssetCheckSeverity.ERROR and check.blocking
    assert StoreResource().snapshot("nordic").manifest()["entities"]["items"] == published  # held back
    observed = {e.asset_key.path[0] for e in result.all_events if e.is_asset_observation}
    assert observed == {"acme", "nordic"}  # acme, in the same step, synced all the same
