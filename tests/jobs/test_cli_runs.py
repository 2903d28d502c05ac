"""CLI runs go through Dagster: they are stored in the instance, and a killed one is marked failed."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

from dagster import DagsterRunStatus, job, op

from sonet_pipeline.jobs.cli_runs import LAUNCHED_BY_TAG, execute_job, prepare_instance


@op
def say_hello() -> str:
    return "hello"


@job
def hello_job():
    say_hello()


def test_cli_run_is_recorded_in_the_instance_with_its_tags():
    """A job run from the CLI path shows in the instance (so in the UI), tagged as a CLI run."""
    instance = prepare_instance()
    result = execute_job(hello_job, instance, tags={"sonet/flow": "test"})
    assert result.success
    run = instance.get_run_by_id(result.run_id)
    assert run is not None and run.status == DagsterRunStatus.SUCCESS
    assert run.tags[LAUNCHED_BY_TAG] == "cli" and run.tags["sonet/flow"] == "test"


def test_a_killed_cli_run_is_marked_failed_by_the_next_command(_isolated_data_dir):
    """SIGKILL leaves a run STARTED; the next CLI command finds its process gone and fails it."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import time
                from dagster import job, op
                from sonet_pipeline.jobs.cli_runs import execute_job, prepare_instance

                @op
                def hang():
                    print("started", flush=True)
                    time.sleep(600)

                @job
                def hanging_job():
                    hang()

                execute_job(hanging_job, prepare_instance())
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "started"
    instance = prepare_instance()
    [run] = instance.get_runs()
    assert run.status == DagsterRunStatus.STARTED
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)

    prepare_instance()  # what every CLI command does first
    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE
