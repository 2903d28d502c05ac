"""Tick retention: the `dagster.yaml` the pipeline writes has Dagster delete old schedule and sensor ticks."""

from __future__ import annotations

import yaml
from dagster import DagsterInstance

from sonet_pipeline.jobs.instance import ensure_dagster_home

BY_OUTCOME = {"skipped": 1, "success": 1, "failure": 14, "started": 14}


def test_ticks_are_purged_by_outcome_and_dagster_accepts_the_settings(tmp_path):
    """Skipped ticks and ticks that started runs after a day (as successful runs), failed ones after 14
    (as failed runs), for schedules and sensors; Dagster loads the file and reads these settings."""
    home = ensure_dagster_home(tmp_path / "home")
    written = yaml.safe_load((home / "dagster.yaml").read_text())
    assert written["retention"] == {
        "schedule": {"purge_after_days": BY_OUTCOME},
        "sensor": {"purge_after_days": BY_OUTCOME},
    }
    instance = DagsterInstance.from_config(str(home))
    try:
        assert instance.get_settings("retention")["sensor"]["purge_after_days"] == BY_OUTCOME
    finally:
        instance.dispose()


def test_a_retention_run_waits_for_another_in_the_run_queue(tmp_path):
    """One retention run at a time among the runs the daemon starts (CLI runs are guarded by the schedule)."""
    home = ensure_dagster_home(tmp_path / "home")
    limits = yaml.safe_load((home / "dagster.yaml").read_text())["concurrency"]["runs"]["tag_concurrency_limits"]
    assert {"key": "sonet/flow", "value": "retention", "limit": 1} in limits
