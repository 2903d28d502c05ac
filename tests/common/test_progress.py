"""Progress reports: one log line each that reads back as it was written, and a reporter that says a
task's first and last report always and otherwise at most one per interval on its clock."""

from __future__ import annotations

from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.common.progress import PROGRESS_SECONDS, Progress, ProgressReporter, decode, encode, interval_of


def test_a_report_reads_back_as_written_and_other_messages_are_none() -> None:
    report = Progress("sync", "acme", "items", 12_000, "records", total=None, pages=24, seconds=2.5, note="initial")
    assert decode(encode(report)) == report
    assert decode("acme items: 40 pages, 20000 fetched") is None
    assert decode("progress not json") is None
    assert decode('progress {"flow": "sync"}') is None  # fields missing: not a report


def test_the_tag_names_the_interval() -> None:
    assert interval_of(None) is None
    assert interval_of("2.5") == 2.5
    assert interval_of("soon") == interval_of("0") == PROGRESS_SECONDS


def test_the_reporter_says_the_first_and_the_finished_always_and_else_once_per_interval() -> None:
    clock, said = ManualClock(), []
    reporter = ProgressReporter(said.append, clock, flow="sync", tenant="acme", every=2.0)

    reporter.tell("items", 0, unit="records", pages=0)  # the first: said
    clock.advance(1.0)
    reporter.tell("items", 500, unit="records", pages=1)  # 1 s after the last: not said
    reporter.tell("customers", 0, unit="records", pages=0)  # another task's first: said
    clock.advance(1.0)
    reporter.tell("items", 1_000, unit="records", pages=2)  # 2 s after the last: said
    clock.advance(0.5)
    reporter.tell("items", 1_200, unit="records", pages=3, finished=True)  # finished: said

    reports = [decode(line) for line in said]
    assert [(r.task, r.done, r.finished) for r in reports if r] == [
        ("items", 0, False),
        ("customers", 0, False),
        ("items", 1_000, False),
        ("items", 1_200, True),
    ]
    # each task's seconds count from its own first report, on the reporter's clock
    assert [r.seconds for r in reports if r] == [0.0, 0.0, 2.0, 2.5]
