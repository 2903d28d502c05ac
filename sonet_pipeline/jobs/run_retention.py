"""Old Dagster runs deleted through the instance's public API, with their events and captured logs.

Successful runs created before one cutoff go, failed and canceled ones before another (kept longer,
to be looked into). A run in progress never goes: only finished statuses are asked for (queued,
starting, started and canceling runs are not). Runs go oldest first, a batch at a time, so a first
pass over a big instance never holds more than one batch. Kept whatever their age: the runs that
hold each asset's latest materialization (the UI and the freshness checks read when an asset was
last updated from it).

`DagsterInstance.delete_run` removes the run and its events, but (Dagster 1.13) not all that the
run left: measured here on a sync run of 2 tenants, what it leaves and what is done about it:

- with SQLite storage (the embedded default) each run's events live in a file of their own,
  `<run_id>.db`, which it leaves behind empty (~350 KB): the file is removed;
- the folder of the run's captured stdout/stderr: removed through the instance's compute log manager;
- the run's asset check executions, a row per check planned and per check evaluated with the whole
  evaluation event (40 rows, ~80 KB a sync run of 2 tenants, in the index where every run writes):
  deleted by run id. Dagster has no public call for this, so it is one statement on the event log
  storage's index connection; where the storage has none, or a Dagster that deletes them itself,
  it deletes nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter
from sqlalchemy import text

SUCCEEDED = (DagsterRunStatus.SUCCESS,)
DELETE_CHECK_EXECUTIONS = text("DELETE FROM asset_check_executions WHERE run_id = :run_id")
UNSUCCESSFUL = (DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)


@dataclass
class RunsPruned:
    """What a pass deleted (or, dry, would delete): per final status, how many runs."""

    by_status: dict[str, int] = field(default_factory=dict)
    #: runs past their age kept because they hold an asset's latest materialization
    kept: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def prune_runs(
    instance: DagsterInstance,
    *,
    success_before: datetime | None,
    failed_before: datetime | None,
    batch_size: int = 500,
    dry_run: bool = False,
) -> RunsPruned:
    """Delete successful runs created before `success_before` and failed or canceled ones created before
    `failed_before` (None: keep them all), oldest first in batches of `batch_size`; with `dry_run`
    count them and delete nothing."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    keep = latest_materialization_runs(instance)
    pruned = RunsPruned()
    for statuses, before in ((SUCCEEDED, success_before), (UNSUCCESSFUL, failed_before)):
        if before is None:
            continue
        filters = RunsFilter(statuses=list(statuses), created_before=before)
        for batch in _batches(instance, filters, batch_size, keep, pruned, dry_run):
            for run in batch:
                if not dry_run:
                    delete_run(instance, run.run_id)
                pruned.by_status[run.status.value] = pruned.by_status.get(run.status.value, 0) + 1
    return pruned


def latest_materialization_runs(instance: DagsterInstance) -> set[str]:
    """The runs holding the latest materialization of some asset the instance knows."""
    runs = set()
    for record in instance.get_asset_records():
        latest = record.asset_entry.last_materialization
        if latest is not None:
            runs.add(latest.run_id)
    return runs


def delete_run(instance: DagsterInstance, run_id: str) -> None:
    """The run, its events, its events' own SQLite file where there is one, and its captured logs."""
    instance.delete_run(run_id)
    shard = _event_shard_path(instance)
    if shard is not None:
        path = Path(shard(run_id))
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
    with contextlib.suppress(NotImplementedError):
        instance.compute_log_manager.delete_logs(prefix=[run_id])
    _delete_check_executions(instance, run_id)


def _delete_check_executions(instance: DagsterInstance, run_id: str) -> None:
    """The run's rows of `asset_check_executions`, which `delete_run` leaves (see the module's doc)."""
    connect = getattr(instance.event_log_storage, "index_connection", None)
    if callable(connect):
        with connect() as connection:
            connection.execute(DELETE_CHECK_EXECUTIONS, {"run_id": run_id})


def _batches(
    instance: DagsterInstance,
    filters: RunsFilter,
    batch_size: int,
    keep: Collection[str],
    pruned: RunsPruned,
    dry_run: bool,
) -> Iterator[list[DagsterRun]]:
    """The runs past their cutoff, oldest first, a batch at a time; the caller deletes each batch (unless
    dry) before the next is read.

    A deleted run cannot be a cursor, so the cursor is the newest run kept so far (never deleted): what
    follows it is every run not yet looked at. Dry, nothing is deleted and the cursor is the last run read."""
    cursor: str | None = None
    while True:
        records = instance.get_run_records(filters=filters, limit=batch_size, ascending=True, cursor=cursor)
        batch = []
        for record in records:
            run = record.dagster_run
            if run.run_id in keep:
                pruned.kept += 1
                cursor = run.run_id
            else:
                batch.append(run)
        if dry_run and records:
            cursor = records[-1].dagster_run.run_id
        yield batch
        if len(records) < batch_size:
            return


def _event_shard_path(instance: DagsterInstance) -> Callable[[str], str] | None:
    """The path of a run's own events file, for storage that keeps one per run (SQLite's default)."""
    shard = getattr(instance.event_log_storage, "path_for_shard", None)
    return shard if callable(shard) else None
