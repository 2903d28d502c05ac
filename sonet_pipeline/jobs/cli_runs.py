"""How a CLI command runs work through Dagster without a daemon.

The job executes in the CLI's own process (`execute_in_process`) against the instance at
`DAGSTER_HOME`, so the run, its logs and its materializations show in the UI like any other run.
Such a run skips the run queue and is invisible to run monitoring; its liveness tags let the next
command (or the sync schedule) fail it if its process dies (`liveness.py`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from dagster import AssetCheckKey, AssetKey, DagsterInstance, JobDefinition

from sonet_pipeline.common.leases import FileLease, held
from sonet_pipeline.common.process_tags import process_tags
from sonet_pipeline.config import settings
from sonet_pipeline.jobs.instance import ensure_dagster_home
from sonet_pipeline.jobs.liveness import fail_dead_runs

LAUNCHED_BY_TAG = "sonet/launched_by"


def prepare_instance() -> DagsterInstance:
    """The instance at DAGSTER_HOME, its storage created once even when several commands start together."""
    home = ensure_dagster_home()
    os.environ["DAGSTER_HOME"] = str(home)
    # Two processes creating fresh SQLite storage at once race ("table runs already exists").
    with held(FileLease(settings.locks_dir(), "dagster-home-init"), "instance setup", wait_seconds=120):
        instance = DagsterInstance.get()
    fail_dead_runs(instance)
    return instance


def cli_run_tags(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {LAUNCHED_BY_TAG: "cli", **process_tags(), **(extra or {})}


def execute_job(
    job: JobDefinition,
    instance: DagsterInstance,
    *,
    tags: Mapping[str, str] | None = None,
    run_config: Mapping[str, Any] | None = None,
    partition_key: str | None = None,
    asset_selection: list[AssetKey] | None = None,
    asset_check_selection: list[AssetCheckKey] | None = None,
    run_id: str | None = None,
):
    """Run `job` here and now against `instance`; answer the `ExecuteInProcessResult`.

    With `asset_selection` alone Dagster runs every check of those assets; name the checks with
    `asset_check_selection` to run only those. `run_id` chosen beforehand lets the caller name the run
    in the leases it takes for it (`cli/runs/tenant_leases.py`)."""
    if asset_check_selection is not None:
        job = job.get_subset(
            asset_selection=set(asset_selection or ()), asset_check_selection=set(asset_check_selection)
        )
        asset_selection = None
    return job.execute_in_process(
        instance=instance,
        tags=cli_run_tags(tags),
        run_config=run_config,
        partition_key=partition_key,
        asset_selection=asset_selection,
        raise_on_error=False,
        run_id=run_id,
    )
