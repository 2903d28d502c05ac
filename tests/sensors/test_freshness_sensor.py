"""The freshness sensor asks for a run of a tenant's freshness check only when its result can change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dagster import build_sensor_context

from sonet_pipeline.assets.freshness import FRESHNESS_CHECK
from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.config.tenants import load_tenants
from sonet_pipeline.definitions import build_definitions
from sonet_pipeline.jobs.cli_runs import prepare_instance
from sonet_pipeline.sensors.freshness_sensor import FRESHNESS_SENSOR
from tests.freshness_tenants import TENANTS, evaluations, synced, write_tenants


def test_the_sensor_runs_a_check_only_when_its_result_can_change(tmp_path, monkeypatch):
    """Never run: every check. Then nothing until a passed check could fail (its fresh-until time, moved
    on by later syncs, is past), or a tenant whose check failed is synced again (an observation: Dagster's
    own sensor waits for a materialization)."""
    clock = ManualClock(datetime.now(UTC) - timedelta(seconds=240))  # Dagster's check reads the wall clock
    defs = build_definitions(load_tenants(write_tenants(tmp_path, monkeypatch)), clock=clock)
    sensor = defs.resolve_sensor_def(FRESHNESS_SENSOR)
    instance = prepare_instance()
    answer: Any = None

    def requested() -> set[str]:
        nonlocal answer
        answer = sensor(build_sensor_context(instance=instance))
        return {key.asset_key.path[0] for key in getattr(answer, "asset_check_keys", None) or []}

    synced(instance, "nordic", clock)
    clock.advance(200)
    synced(instance, "acme", clock)
    assert requested() == set(TENANTS)
    assert {key.name for key in answer.asset_check_keys} == {FRESHNESS_CHECK}
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
