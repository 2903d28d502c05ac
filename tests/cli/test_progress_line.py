"""The progress line: counts, rate and time left from the reports alone (the step's clock), cut to the
terminal's width; drawn in place; and drawn only for a person at a terminal, never under --json."""

from __future__ import annotations

import io

import pytest

from sonet_pipeline.cli.runs.progress_line import (
    CLEAR_TO_END,
    ProgressBoard,
    TerminalLine,
    describe,
    duration_text,
    eta_seconds,
    fit,
    rate,
    shows_progress,
)
from sonet_pipeline.common.progress import Progress


def sync(done: int, seconds: float, *, total: int | None = None, finished: bool = False) -> Progress:
    return Progress("sync", "acme", "items", done, "records", total, done // 500, seconds, finished, "initial read")


def test_without_a_total_a_sync_shows_its_rate_and_no_time_left() -> None:
    report = sync(12_000, 3.0)
    assert rate(report) == 4_000 and eta_seconds(report) is None
    assert describe(report) == "sync acme items: 12,000 records, 4,000/s, 24 pages, initial read"


def test_with_a_total_the_time_left_is_the_rest_at_the_rate_so_far() -> None:
    report = sync(25_000, 10.0, total=100_000)
    assert eta_seconds(report) == 30.0
    assert describe(report) == (
        "sync acme items: 25,000/100,000 records (25%), 2,500/s, ETA 0:30, 50 pages, initial read"
    )


def test_a_send_shows_sent_of_its_backlog() -> None:
    report = Progress("send", "acme", "orders", 120, "sent", 500, None, 12.5, False, "3 failed")
    assert describe(report) == "send acme orders: 120/500 sent (24%), 9.6/s, ETA 0:40, 3 failed"


def test_no_rate_before_it_means_anything_nor_for_files_nor_past_the_total() -> None:
    assert rate(sync(0, 5.0)) is None  # nothing done yet
    assert rate(sync(500, 0.1)) is None  # start-up, not work
    files = Progress("shop", "acme", "files", 2, "files", 5, None, 9.0, False, "building order_status", rated=False)
    assert rate(files) is None
    assert describe(files) == "shop acme files: 2/5 files (40%), building order_status"
    assert eta_seconds(sync(120, 2.0, total=100)) is None  # a full read finds more than the store held
    assert describe(sync(120, 2.0, total=100)).startswith("sync acme items: 120/100 records (100%)")


def test_a_finished_task_says_how_long_it_took() -> None:
    assert describe(sync(20_000, 8.4, finished=True)).endswith("2,381/s, done in 0:08, 40 pages, initial read")


@pytest.mark.parametrize(("seconds", "text"), [(0, "0:00"), (7.4, "0:07"), (725, "12:05"), (3723, "1:02:03")])
def test_durations(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def test_the_line_fits_the_terminal() -> None:
    assert fit("short", 80) == "short"
    assert fit("x" * 100, 40) == "x" * 38 + "…"


def test_the_board_shows_the_tasks_at_work_and_between_tasks_the_last_finished() -> None:
    board = ProgressBoard()
    assert board.line(200) == ""
    board.update(sync(500, 1.0))
    board.update(Progress("sync", "nordic", "items", 0, "records", pages=0))
    assert board.line(200) == (
        "sync acme items: 500 records, 500/s, 1 page, initial read | sync nordic items: 0 records, 0 pages"
    )
    board.update(sync(1_000, 2.0, finished=True))
    board.update(Progress("sync", "nordic", "items", 10, "records", pages=1, finished=True))
    assert board.line(200) == "sync nordic items: 10 records, done in 0:00, 1 page"


def test_the_line_is_redrawn_in_place_only_when_it_changes_and_cleared_at_the_end() -> None:
    stream = io.StringIO()
    line = TerminalLine(stream, width=lambda: 80)
    line.draw("one")
    line.draw("one")
    line.draw("two")
    line.clear()
    line.clear()
    assert stream.getvalue() == f"\rone{CLEAR_TO_END}\r\rtwo{CLEAR_TO_END}\r\r{CLEAR_TO_END}"


class Stream(io.StringIO):
    def __init__(self, terminal: bool) -> None:
        super().__init__()
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


@pytest.mark.parametrize(
    ("as_json", "stdout", "stderr", "term", "shown"),
    [
        (False, True, True, "xterm", True),
        (True, True, True, "xterm", False),  # --json: one document, nothing else
        (False, False, True, "xterm", False),  # stdout to a pipe or a file: a script reads it
        (False, True, False, "xterm", False),  # stderr captured
        (False, True, True, "dumb", False),  # cannot redraw a line
    ],
)
def test_progress_only_for_a_person_at_a_terminal(as_json, stdout, stderr, term, shown) -> None:
    assert shows_progress(as_json, Stream(stdout), Stream(stderr), {"TERM": term}) is shown


class BrokenEventLog:
    """An instance whose event log cannot be read."""

    def has_run(self, run_id: str) -> bool:
        return True

    def get_records_for_run(self, run_id: str, cursor: str | None = None) -> object:
        raise OSError("event log unreachable")


def test_an_event_log_that_cannot_be_read_stops_the_drawing_never_the_run() -> None:
    from sonet_pipeline.cli.runs.progress_watch import drawn

    stream = io.StringIO()
    with drawn(BrokenEventLog(), "r1", TerminalLine(stream, width=lambda: 80)):  # type: ignore[arg-type]
        finished = True
    assert finished and stream.getvalue() == ""
