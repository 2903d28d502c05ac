"""A CLI's run with its progress on the terminal: the steps' reports read back from the run's event log.

`execute_shown` runs a job as `jobs/cli_runs.execute_job` does; given a terminal, it tags the run with
`PROGRESS_TAG` (its steps then log a few progress reports a second at most: `assets/progress.py`) and
polls the instance's event log (`DagsterInstance.get_records_for_run`, from the run's cursor) in a
thread while the run executes, redrawing one line on the terminal; the line is cleared when the run
ends, before the summary. Dagster's console log shows only warnings and errors meanwhile (its debug
lines would scroll the line away; the event log and the UI keep them all). Without a terminal (a
pipe, `--json`), the run is exactly what it was: no tag, no reports, nothing drawn.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

from dagster import DagsterInstance, JobDefinition

from sonet_pipeline.cli.runs.progress_line import ProgressBoard, TerminalLine
from sonet_pipeline.common.progress import PROGRESS_SECONDS, PROGRESS_TAG, decode
from sonet_pipeline.jobs.cli_runs import execute_job

#: How often the CLI reads the run's new events (real seconds).
POLL_SECONDS = 0.5
#: The console logger of a run whose progress is drawn (Dagster's default logger, when the job has it):
#: warnings and errors only.
QUIET_CONSOLE = {"console": {"config": {"log_level": "WARNING"}}}


def execute_shown(
    job: JobDefinition,
    instance: DagsterInstance,
    *,
    progress: TextIO | None,
    run_id: str,
    tags: Mapping[str, str],
    run_config: Mapping[str, Any] | None = None,
    **options: Any,
) -> Any:
    """`execute_job`, its progress drawn on `progress` (a terminal's stream) while it runs; None: not drawn."""
    if progress is None:
        return execute_job(job, instance, tags=tags, run_config=run_config, run_id=run_id, **options)
    quiet = {"loggers": QUIET_CONSOLE} if set(QUIET_CONSOLE) <= set(job.loggers) else {}
    with drawn(instance, run_id, TerminalLine(progress)):
        return execute_job(
            job,
            instance,
            tags={**tags, PROGRESS_TAG: str(PROGRESS_SECONDS)},
            run_config={**(run_config or {}), **quiet},
            run_id=run_id,
            **options,
        )


class RunProgress:
    """The progress reports of one run, read from the instance's event log from where the last read ended."""

    def __init__(self, instance: DagsterInstance, run_id: str, line: TerminalLine) -> None:
        self._instance, self._run_id, self._line = instance, run_id, line
        self._cursor: str | None = None
        self.board = ProgressBoard()

    def poll(self) -> None:
        """Read the run's new events and redraw the line with any new report."""
        if self._cursor is None and not self._instance.has_run(self._run_id):
            return  # not started yet: nothing to read, and no storage created for it before the run's own
        found = self._instance.get_records_for_run(self._run_id, cursor=self._cursor)
        self._cursor = found.cursor
        reports = 0
        for record in found.records:
            entry = record.event_log_entry
            report = decode(entry.user_message) if entry.dagster_event is None else None
            if report is not None:
                self.board.update(report)
                reports += 1
        if reports:
            self._line.draw(self.board.line(self._line.width()))


@contextmanager
def drawn(
    instance: DagsterInstance, run_id: str, line: TerminalLine, *, poll_seconds: float = POLL_SECONDS
) -> Iterator[RunProgress]:
    """While the body runs, poll run `run_id`'s progress every `poll_seconds` and draw it on `line`;
    at the end read once more (the last reports always show) and clear the line. Reading the event log
    never disturbs the run: a failure to read only stops the drawing."""
    watcher = RunProgress(instance, run_id, line)
    stop = threading.Event()
    failed = threading.Event()

    def poll() -> None:
        try:
            watcher.poll()
        except Exception:  # drawing progress is a courtesy: never the run's problem
            failed.set()

    def loop() -> None:
        while not stop.wait(poll_seconds) and not failed.is_set():
            poll()

    thread = threading.Thread(target=loop, name="cli-progress", daemon=True)
    thread.start()
    try:
        yield watcher
    finally:
        stop.set()
        thread.join(timeout=10)
        if not failed.is_set():
            poll()
        line.clear()
