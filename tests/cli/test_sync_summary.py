"""`sonet-pipeline sync`'s summary: a tenant whose sync changed nothing is still reported, "no changes"."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sonet_pipeline.cli.runs.summary import RunSummary
from sonet_pipeline.cli.runs.sync import format_summary, run_sync
from sonet_pipeline.config.tenants import load_tenants
from sonet_pipeline.definitions import build_definitions
from sonet_pipeline.jobs.cli_runs import prepare_instance
from tests.standin.standin_http import TOKENS

STATUS = {"last_synced": "2026-12-07T04:00:00.000Z", "entities_changed": 0, "lag_seconds": 12.5}


def test_a_tenant_without_changes_is_one_line_after_the_changed_ones_in_order():
    summary = RunSummary(
        "r1",
        True,
        {
            "nordic": {"sync": STATUS},
            "acme": {"items": {"fetched": 3, "updated": 3, "snapshot_held": False}, "sync": STATUS},
        },
    )
    assert format_summary(summary) == [
        "sync run r1: succeeded",
        "  acme items: fetched 3, updated 3",
        "  nordic: no changes, synced at 2026-12-07T04:00:00.000Z, newest change 12.5 s ago",
    ]


@pytest.mark.slow
def test_the_cli_sync_reports_an_idle_tenant(start_standin, tmp_path: Path, monkeypatch):
    sonet = start_standin(items=100, lag_seconds=0, late_share=0.0)
    path = tmp_path / "tenants.yaml"
    path.write_text(
        f"tenants:\n  - {{name: acme, sonet: {{base_url: '{sonet.base_url}', company: '01', token_env: T}}}}\n"
    )
    monkeypatch.setenv("T", TOKENS["01"])
    tenants = load_tenants(path)
    defs, instance = build_definitions(tenants, clock=sonet.clock), prepare_instance()
    first = run_sync(defs, instance, tenants, now=datetime.now(UTC))
    assert first.success and first.tenants["acme"]["items"]["inserted"] == 100
    sonet.advance(120)
    again = run_sync(defs, instance, tenants, now=datetime.now(UTC))
    assert again.success and set(again.tenants["acme"]) == {"sync"}  # nothing materialized, observed
    assert again.tenants["acme"]["sync"]["entities_changed"] == 0
    assert again.as_json()["tenants"]["acme"]["sync"]["last_synced"].endswith("Z")
    assert format_summary(again)[1].startswith("  acme: no changes, synced at ")
