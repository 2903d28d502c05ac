"""A step's progress, in its run's log, only when the run asks for it.

The CLI tags the runs whose progress it shows on a terminal (`PROGRESS_TAG`, `cli/runs/progress_watch.py`);
a step of such a run gets a `ProgressReporter` whose reports are log messages of the run, a few per
task and at most one a second. Every other run (the daemon's, the CLI's under `--json` or without a
terminal) gets None and records nothing more than before. The adapters below turn what each flow
hears (a page read, an answer settled, a file built) into reports; given None, they say nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from dagster import AssetExecutionContext

from sonet_pipeline.common.clock import Clock
from sonet_pipeline.common.progress import PROGRESS_TAG, ProgressReporter, interval_of
from sonet_pipeline.inbound.windows import FULL, Window
from sonet_pipeline.outbound.send_report import SendReport


def step_progress(context: AssetExecutionContext, clock: Clock, *, flow: str, tenant: str) -> ProgressReporter | None:
    """The reporter of this step's progress when its run asks for one, else None."""
    every = interval_of(context.run.tags.get(PROGRESS_TAG))
    if every is None:
        return None
    return ProgressReporter(context.log.info, clock, flow=flow, tenant=tenant, every=every)


class EntityProgress:
    """One entity's sync: started (its window), after each page the pages and records read, finished.

    Sonet does not say how many records a window holds (no total count in the contract), so a person
    sees the rate only; a full read expects about as many records as the store holds (Sonet never
    drops records), which gives an estimate of the time left."""

    def __init__(
        self, reporter: ProgressReporter | None, entity: str, window: Window, in_store: Callable[[], int]
    ) -> None:
        self._reporter, self._entity, self._note = reporter, entity, f"{window.kind} read"
        self._expected = in_store() if reporter is not None and window.kind == FULL else None
        self._tell(0, 0)

    def page(self, pages: int, records: int) -> None:
        self._tell(pages, records)

    def finished(self, pages: int, records: int) -> None:
        self._tell(pages, records, finished=True)

    def _tell(self, pages: int, records: int, *, finished: bool = False) -> None:
        if self._reporter is not None:
            total = self._expected if self._expected else None
            self._reporter.tell(
                self._entity, records, unit="records", total=total, pages=pages, finished=finished, note=self._note
            )


class SendProgress:
    """One tenant's send: messages sent of the backlog the run started with, the failed ones noted."""

    def __init__(self, reporter: ProgressReporter | None, backlog: Callable[[], int], limit: int) -> None:
        """`backlog()`: the messages waiting now (asked only when someone listens); the run sends at most `limit`."""
        self._reporter = reporter
        self._backlog = min(backlog(), limit) if reporter is not None else 0
        self._tell(0, 0)

    @property
    def on_answer(self) -> Callable[[SendReport], None] | None:
        """The sender's `on_answer`, None when nobody listens."""
        return None if self._reporter is None else self.answered

    def answered(self, report: SendReport) -> None:
        self._tell(report.delivered, sum(report.failed.values()))

    def finished(self, report: SendReport) -> None:
        self._tell(report.delivered, sum(report.failed.values()), finished=True)

    def _tell(self, sent: int, failed: int, *, finished: bool = False) -> None:
        if self._reporter is not None:
            note = f"{failed} failed" if failed else ""
            self._reporter.tell("orders", sent, unit="sent", total=self._backlog, finished=finished, note=note)


class FilesProgress:
    """One tenant's shop publish: how many of its files are built, and what the step does now."""

    def __init__(self, reporter: ProgressReporter | None, files: list[str]) -> None:
        self._reporter, self._count = reporter, len(files)

    def doing(self, done: int, what: str) -> None:
        self._tell(done, what)

    def finished(self) -> None:
        self._tell(self._count, "published", finished=True)

    def _tell(self, done: int, what: str, *, finished: bool = False) -> None:
        if self._reporter is not None:
            self._reporter.tell(
                "files", done, unit="files", total=self._count, note=what, rated=False, finished=finished
            )
