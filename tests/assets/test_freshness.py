"""Freshness in Dagster's own terms: its last-update check on each tenant's `sync` asset, which counts
the sync's observation (an idle tenant materializes nothing), and the sensor that runs it.

Dagster's check reads the wall clock, so the injected clock (the one that stamps when a sync finished)
starts from it: a tenant whose last successful sync is 40 s old passes, one 4 minutes old (three
cadences of 60 s are 3 minutes) fails, and one never synced fails.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import AssetKey, build_sensor_context

from sonet_pipeline.assets.freshness import FRESHNESS_CHECK, freshness_check_key
from sonet_pipeline.assets.tenant_sync import LAST_UPDATED, TenantSync
from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.config.tenants import load_tenants
from sonet_pipeline.definitions import build_definitions
from sonet_pipeline.jobs.cli_runs import execute_job, prepare_instance
from sonet_pipeline.jobs.sync import FRESHNESS_JOB
from sonet_pipeline.sensors.freshness_sensor import FRESHNESS_SENSOR
from sonet_pipeline.store.publication_gate import Verdict

TENANTS = ("acme", "nordic", "borealis")


@pytest.fixture
def tenants_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "tenants.yaml"
    lines = ["tenants:"]
    for index, name in enumerate(TENANTS):
        lines.append(
            f"  - {{name: {name}, sonet: {{base_url: 'http://127.0.0.1:9', company: '0{index + 1}', token_env: T}}}}"
        )
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("T", "placeholder")
    return path


def synced(instance, tenant: str, clock: ManualClock) -> None:
    """What a successful sync that changed nothing records: its `sync` observation, nothing else."""
    observation = TenantSync(tenant, verdict=Verdict(findings={}), finished_at=clock.now()).observation()
    assert observation is not None
    instance.report_runless_asset_event(observation)


def evaluations(defs, instance, request=None) -> dict[str, object]:
    """A run of the freshness job (of the checks a sensor's `request` names); its evaluations by tenant."""
    checks = list(request.asset_check_keys) if request is not None else None
    result = execute_job(defs.resolve_job_def(FRESHNESS_JOB), instance, asset_check_selection=checks)
    assert result.success
    return {e.asset_key.path[0]: e for e in result.get_asset_check_evaluations()}


def test_a_stale_tenant_fails_and_a_fresh_one_passes(tenants_file):
    """Judged on the sync observation alone: nordic synced 4 minutes ago is overdue, acme 40 s ago is
    fresh, borealis never synced is overdue; the results carry Dagster's freshness metadata."""
    clock = ManualClock(datetime.now(UTC) - timedelta(seconds=240))
    defs = build_definitions(load_tenants(tenants_file), clock=clock)
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


def test_the_sensor_runs_a_check_only_when_its_result_can_change(tenants_file):
    """Never run: every check. Then nothing until a passed check could fail (its fresh-until time, moved
    on by later syncs, is past), or a tenant whose check failed is synced again (an observation: Dagster's
    own sensor waits for a materialization)."""
    clock = ManualClock(datetime.now(UTC) - timedelta(seconds=240))
    defs = build_definitions(load_tenants(tenants_file), clock=clock)
    sensor = defs.resolve_sensor_def(FRESHNESS_SENSOR)
    instance = prepare_instance()

    def requested() -> set[str]:
        nonlocal answer
        answer = sensor(build_sensor_context(instance=instance))
        return {key.asset_key.path[0] for key in getattr(answer, "asset_check_keys", None) or []}

    answer = None

    synced(instance, "nordic", clock)
    clock.advance(200)
    synced(instance, "acme", clock)
    assert requested() == set(TENANTS)
    evaluations(defs, instance)  # acme passes until its sync is 180 s old; nordic and borealis fail
    assert requested() == set()

    synced(instance, "nordic", clock)  # nordic recovers: its failed check can pass now
    assert requested() == {"nordic"}
    recovered = evaluations(defs, instance, answer)  # the run the sensor asks for: nordic's check alone
    assert set(recovered) == {"nordic"} and recovered["nordic"].passed

    clock.advance(100)
    synced(instance, "acme", clock)  # acme keeps syncing: its passed check stays true, no run needed
    clock.advance(81)  # nordic's last sync (181 s ago) may be overdue now, acme's (81 s) not
    assert requested() == {"nordic"}
    clock.advance(100)
    assert requested() == {"acme", "nordic"}
    assert freshness_check_key("acme").name == FRESHNESS_CHECK
