"""Freshness in Dagster's own terms: its last-update check on each tenant's `sync` asset counts the sync's
observation (an idle tenant materializes nothing). The sensor that runs it: tests/sensors.

Dagster's check reads the wall clock, so the injected clock (the one that stamps when a sync finished)
starts from it: a tenant whose last successful sync is 40 s old passes, one 4 minutes old (three
cadences of 60 s are 3 minutes) fails, and one never synced fails.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from dagster import AssetKey

from sonet_pipeline.assets.freshness import FRESHNESS_CHECK
from sonet_pipeline.assets.tenant_sync import LAST_UPDATED
from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.config.tenants import load_tenants
from sonet_pipeline.definitions import build_definitions
from sonet_pipeline.jobs.cli_runs import prepare_instance
from tests.freshness_tenants import TENANTS, evaluations, synced, write_tenants


def test_a_stale_tenant_fails_and_a_fresh_one_passes(tmp_path, monkeypatch):
    """Judged on the sync observation alone: nordic synced 4 minutes ago is overdue, acme 40 s ago is
    fresh, borealis never synced is overdue; the results carry Dagster's freshness metadata."""
    clock = ManualClock(datetime.now(UTC) - timedelta(seconds=240))
    defs = build_definitions(load_tenants(write_tenants(tmp_path, monkeypatch)), clock=clock)
    instance = prepare_instance()
    synced(instance, "nordic", clock)
    clock.advance(200)
    synced(instance, "acme", clock)

    found = evaluations(defs, instance)
    assert set(found) == set(TENANTS)
    assert all(e.check_name == FRESHNESS_CHECK and e.asset_key.path[1:] == ["sonet", "sync"] for e in found.values())
    assert found["acme"].passed
    assert found["acme"].metadata[LAST_UPDATED].value == pytest.approx(clock.now().timestamp())
    assert not found["nordic"].passed and "overdue" in (found["nordic"].description or "")
    assert not found["borealis"].passed
    assert all(e.severity.value == "WARN" for e in found.values())
    assert instance.get_latest_materialization_event(AssetKey(["acme", "sonet", "items"])) is None
