"""Old Dagster runs go with their events and logs; new ones, runs in progress and the latest
materializations stay; failed and canceled runs are kept longer. On the embedded SQLite instance and on
the production PostgreSQL one.

Runs are made now and then backdated in the run storage (a test's only way to make a run old without
waiting); the cutoffs are computed from a fixed "now", as the job computes them from its clock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSpec,
    AssetKey,
    DagsterEvent,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    Failure,
    MaterializeResult,
    asset,
    job,
    materialize,
    op,
)

from sonet_pipeline.config import settings
from sonet_pipeline.jobs.cli_runs import prepare_instance
from sonet_pipeline.jobs.run_retention import prune_runs

NOW = datetime.now(UTC).replace(microsecond=0)
DAY = timedelta(days=1)


@asset
def thing() -> int:
    return 1


@asset(check_specs=[AssetCheckSpec("positive", asset="checked")])
def checked() -> MaterializeResult:
    return MaterializeResult(check_results=[AssetCheckResult(passed=True)])


@op
def fine() -> None:
    print("a line of captured output")


@op
def broken() -> None:
    raise Failure("broken on purpose")


@job
def fine_job() -> None:
    fine()


@job
def broken_job() -> None:
    broken()


Backdate = Callable[[str, datetime], None]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.slow])])
def instance_and_backdate(request, monkeypatch) -> Iterator[tuple[DagsterInstance, Backdate]]:
    """The pipeline's instance (SQLite files, or PostgreSQL with a DSN set) and a way to age a run."""
    if request.param == "sqlite":
        instance = prepare_instance()
        runs_db = Path(settings.dagster_home()) / "history" / "runs.db"

        def backdate(run_id: str, when: datetime) -> None:
            with sqlite3.connect(runs_db) as connection:
                stamp = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
                updated = connection.execute("UPDATE runs SET create_timestamp = ? WHERE run_id = ?", (stamp, run_id))
                assert updated.rowcount == 1

        yield instance, backdate
        return
    dsn = request.getfixturevalue("postgres_database")
    monkeypatch.setenv(settings.POSTGRES_DSN_ENV, dsn)
    instance = prepare_instance()
    import psycopg

    def backdate_pg(run_id: str, when: datetime) -> None:
        with psycopg.connect(dsn, autocommit=True) as connection:
            naive = when.astimezone(UTC).replace(tzinfo=None)
            query = "UPDATE dagster.runs SET create_timestamp = %s WHERE run_id = %s"
            assert connection.execute(query, (naive, run_id)).rowcount == 1, "the run is in PostgreSQL"

    yield instance, backdate_pg
    instance.dispose()


def finished(instance: DagsterInstance, kind: str) -> str:
    """A run that ran here: `fine` (succeeded), `broken` (failed), `asset` (materialized `thing`),
    `checked` (materialized `checked` and evaluated its check)."""
    if kind in ("asset", "checked"):
        return materialize([thing if kind == "asset" else checked], instance=instance).run_id
    chosen = fine_job if kind == "fine" else broken_job
    return chosen.execute_in_process(instance=instance, raise_on_error=False).run_id


#: The event that puts a run in each status, as the run queue, the launcher and the executor report it.
MOVES = {
    DagsterRunStatus.STARTING: DagsterEventType.RUN_STARTING,
    DagsterRunStatus.STARTED: DagsterEventType.RUN_START,
    DagsterRunStatus.CANCELING: DagsterEventType.RUN_CANCELING,
    DagsterRunStatus.CANCELED: DagsterEventType.RUN_CANCELED,
}


def made(instance: DagsterInstance, status: DagsterRunStatus) -> str:
    """A run recorded in `status` without running (queued, started, canceled, ...)."""
    run = instance.create_run_for_job(fine_job)
    if status in MOVES:
        instance.handle_run_event(run.run_id, DagsterEvent(MOVES[status].value, job_name=run.job_name))
    assert instance.get_run_by_id(run.run_id).status == status
    return run.run_id


def statuses(instance: DagsterInstance) -> dict[str, DagsterRunStatus]:
    return {run.run_id: run.status for run in instance.get_runs()}


def test_old_runs_go_new_ones_and_runs_in_progress_stay(instance_and_backdate):
    """With 1 day for successful and 14 for failed or canceled runs: a 2-day-old success goes; a
    2-day-old failure and canceled run stay until past 14 days; a 20-day-old failure goes; today's runs
    stay; runs not started, starting, started or canceling stay however old (queued ones too: only
    runs in a final status are ever asked for)."""
    instance, backdate = instance_and_backdate
    old_success, new_success = finished(instance, "fine"), finished(instance, "fine")
    young_failure, old_failure = finished(instance, "broken"), finished(instance, "broken")
    young_canceled, old_canceled = made(instance, DagsterRunStatus.CANCELED), made(instance, DagsterRunStatus.CANCELED)
    in_progress = [
        made(instance, status)
        for status in (
            DagsterRunStatus.NOT_STARTED,
            DagsterRunStatus.STARTING,
            DagsterRunStatus.STARTED,
            DagsterRunStatus.CANCELING,
        )
    ]
    for run_id in (old_success, young_failure, young_canceled):
        backdate(run_id, NOW - 2 * DAY)
    for run_id in (old_failure, old_canceled, *in_progress):
        backdate(run_id, NOW - 20 * DAY)

    pruned = prune_runs(instance, success_before=NOW - DAY, failed_before=NOW - 14 * DAY)

    assert pruned.by_status == {"SUCCESS": 1, "FAILURE": 1, "CANCELED": 1}
    left = statuses(instance)
    assert old_success not in left and old_failure not in left and old_canceled not in left
    if not callable(getattr(instance.event_log_storage, "path_for_shard", None)):
        # PostgreSQL: one event table for all runs (SQLite's per-run files are checked below)
        assert instance.all_logs(old_success) == [] and instance.all_logs(old_failure) == []
    assert {new_success, young_failure, young_canceled, *in_progress} == left.keys()


def test_a_dry_run_counts_the_same_and_deletes_nothing(instance_and_backdate):
    """A dry run reports exactly what the real pass then deletes, and leaves every run in place."""
    instance, backdate = instance_and_backdate
    runs = [finished(instance, "fine") for _ in range(3)] + [finished(instance, "broken")]
    for run_id in runs:
        backdate(run_id, NOW - 30 * DAY)
    before = statuses(instance)
    dry = prune_runs(instance, success_before=NOW - DAY, failed_before=NOW - 14 * DAY, dry_run=True, batch_size=2)
    assert statuses(instance) == before
    real = prune_runs(instance, success_before=NOW - DAY, failed_before=NOW - 14 * DAY, batch_size=2)
    assert dry.by_status == real.by_status == {"SUCCESS": 3, "FAILURE": 1}
    assert statuses(instance) == {}


def test_batches_go_through_every_old_run_and_keep_the_latest_materialization(instance_and_backdate):
    """Seven old runs materializing one asset, in batches of two: the six older go, the one holding the
    asset's latest materialization stays (the UI and the freshness checks read it), and so does the
    materialization itself; the deleted runs' materializations are gone."""
    instance, backdate = instance_and_backdate
    runs = [finished(instance, "asset") for _ in range(7)]
    for age, run_id in zip(range(30, 23, -1), runs, strict=True):
        backdate(run_id, NOW - age * DAY)
    pruned = prune_runs(instance, success_before=NOW - DAY, failed_before=None, batch_size=2)
    assert (pruned.by_status, pruned.kept) == ({"SUCCESS": 6}, 1)
    assert set(statuses(instance)) == {runs[-1]}
    latest = instance.get_latest_materialization_event(AssetKey("thing"))
    assert latest is not None and latest.run_id == runs[-1]
    remaining = instance.fetch_materializations(AssetKey("thing"), limit=100).records
    assert [record.run_id for record in remaining] == [runs[-1]]


def test_none_keeps_a_kind_forever(instance_and_backdate):
    """No cutoff for a kind (`forever`): none of its runs goes, however old."""
    instance, backdate = instance_and_backdate
    success, failure = finished(instance, "fine"), finished(instance, "broken")
    for run_id in (success, failure):
        backdate(run_id, NOW - 400 * DAY)
    assert prune_runs(instance, success_before=None, failed_before=None).total == 0
    assert set(statuses(instance)) == {success, failure}


def test_the_runs_own_files_go_too():
    """On the embedded SQLite instance a deleted run leaves no file: neither its events' database
    (`history/runs/<run_id>.db`) nor its captured output (`storage/<run_id>/`)."""
    instance = prepare_instance()
    home = Path(settings.dagster_home())
    run_id = finished(instance, "fine")
    shard, logs = home / "history" / "runs" / f"{run_id}.db", home / "storage" / run_id
    assert shard.exists() and logs.is_dir()
    pruned = prune_runs(instance, success_before=NOW + DAY, failed_before=None)
    assert pruned.total == 1
    assert not shard.exists() and not logs.exists()
    assert not list((home / "history" / "runs").glob(f"{run_id}*"))


def test_a_batch_size_below_one_is_refused():
    with pytest.raises(ValueError, match="batch_size"):
        prune_runs(prepare_instance(), success_before=NOW, failed_before=NOW, batch_size=0)


def test_the_deleted_runs_check_executions_go_too(instance_and_backdate):
    """`delete_run` leaves a run's asset check executions (Dagster 1.13); retention deletes them with the
    run, so only the kept run's execution of the check is left."""
    instance, backdate = instance_and_backdate
    older, newer = finished(instance, "checked"), finished(instance, "checked")
    for run_id in (older, newer):
        backdate(run_id, NOW - 10 * DAY)
    key = AssetCheckKey(AssetKey("checked"), "positive")
    assert {r.run_id for r in instance.event_log_storage.get_asset_check_execution_history(key, limit=10)} == {
        older,
        newer,
    }
    assert prune_runs(instance, success_before=NOW - DAY, failed_before=None).total == 1
    history = instance.event_log_storage.get_asset_check_execution_history(key, limit=10)
    assert [r.run_id for r in history] == [newer]
