"""Runs whose process died are marked failed, so neither the UI nor the run queue waits on them.

Dagster's default run launcher cannot check a run worker's health, and run monitoring cannot see runs
executed in a CLI's own process. So every run of the pipeline is tagged with the pid and host of the
process that executes it (the CLI at creation, `RunGuardResource` when a daemon run starts), and
`fail_dead_runs` fails a run of this host whose process is gone (SIGKILL, a lost terminal). The data
itself is guarded by leases, which die with their holder (`sonet_pipeline/common/leases.py`).
"""

from __future__ import annotations

import socket

from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter, SkipReason

from sonet_pipeline.common.process_tags import HOST_TAG, PID_TAG, alive


def fail_dead_runs(instance: DagsterInstance) -> list[str]:
    """Mark failed every run of this host still shown as running whose process is gone."""
    host = socket.gethostname()
    runs = instance.get_runs(
        filters=RunsFilter(statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING], tags={HOST_TAG: host})
    )
    failed = []
    for run in runs:
        pid = int(run.tags.get(PID_TAG, "0"))
        if pid and not alive(pid):
            instance.report_run_failed(run, f"the process {pid} that ran it on {host} is gone")
            failed.append(run.run_id)
    return failed


IN_PROGRESS = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]


def live_run_of(instance: DagsterInstance, job_name: str) -> DagsterRun | None:
    """A run of `job_name` queued or running, after failing those whose process died; None if there is none."""
    fail_dead_runs(instance)
    runs = instance.get_runs(filters=RunsFilter(job_name=job_name, statuses=IN_PROGRESS), limit=1)
    return runs[0] if runs else None


def still_running(instance: DagsterInstance, job_name: str, what: str) -> SkipReason | None:
    """A tick's reason to skip while a run of `job_name` is live (`what` names the run); None if there is none."""
    busy = live_run_of(instance, job_name)
    return None if busy is None else SkipReason(f"{what} run {busy.run_id} is still {busy.status.value.lower()}")
