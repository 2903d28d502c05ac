"""How a CLI command runs work through Dagster without a daemon.

The job executes in the CLI's own process (`execute_in_process`) against the instance at
`DAGSTER_HOME`, so the run, its logs and its materializations show in the UI like any other run.
Such a run skips the run queue and is invisible to run monitoring: it is tagged with its pid and
host, and `fail_dead_cli_runs` marks a run failed whose process is gone (SIGKILL, lost terminal),
so the UI never shows a dead run as running. What guards the data is the lease each run holds
(`sonet_pipeline/lease.py`), not these tags.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Any

from dagster import DagsterInstance, DagsterRunStatus, JobDefinition, RunsFilter

from sonet_pipeline import settings
from sonet_pipeline.dagster_home import ensure_dagster_home
from sonet_pipeline.lease import FileLease, held

LAUNCHED_BY_TAG = "sonet/launched_by"
PID_TAG = "sonet/pid"
HOST_TAG = "sonet/host"


def prepare_instance() -> DagsterInstance:
    """The instance at DAGSTER_HOME, its storage created once even when several commands start together."""
    home = ensure_dagster_home()
    os.environ["DAGSTER_HOME"] = str(home)
    # Two processes creating fresh SQLite storage at once race ("table runs already exists").
    with held(FileLease(settings.locks_dir(), "dagster-home-init"), "instance setup", wait_seconds=120):
        instance = DagsterInstance.get()
    fail_dead_cli_runs(instance)
    return instance


def cli_run_tags(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {LAUNCHED_BY_TAG: "cli", PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname(), **(extra or {})}


def execute_job(
    job: JobDefinition,
    instance: DagsterInstance,
    *,
    tags: Mapping[str, str] | None = None,
    run_config: Mapping[str, Any] | None = None,
    partition_key: str | None = None,
):
    """Run `job` here and now against `instance`; answer the `ExecuteInProcessResult`."""
    return job.execute_in_process(
        instance=instance,
        tags=cli_run_tags(tags),
        run_config=run_config,
        partition_key=partition_key,
        raise_on_error=False,
    )


def fail_dead_cli_runs(instance: DagsterInstance) -> list[str]:
    """Mark failed every CLI run of this host still shown as running whose process is gone."""
    host = socket.gethostname()
    runs = instance.get_runs(
        filters=RunsFilter(
            statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING],
            tags={LAUNCHED_BY_TAG: "cli", HOST_TAG: host},
        )
    )
    failed = []
    for run in runs:
        pid = int(run.tags.get(PID_TAG, "0"))
        if pid and not _alive(pid):
            instance.report_run_failed(run, f"the CLI process {pid} that ran it on {host} is gone")
            failed.append(run.run_id)
    return failed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
