"""What each flow's step reports, when its run asks: a sync's entity from its window to its last page
(a full read expects what the store holds), a send's messages sent of its backlog, a shop publish's
files; a run that does not ask gets no reporter and the adapters say nothing."""

from __future__ import annotations

from sonet_pipeline.assets.progress import EntityProgress, FilesProgress, SendProgress
from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.common.progress import Progress, ProgressReporter, decode
from sonet_pipeline.inbound.windows import DELTA, FULL, Window
from sonet_pipeline.outbound.send_report import SendReport


def reporter(said: list[str], clock: ManualClock) -> ProgressReporter:
    return ProgressReporter(said.append, clock, flow="f", tenant="acme", every=1.0)


def told(said: list[str]) -> list[Progress]:
    return [p for p in map(decode, said) if p is not None]


def test_an_entity_from_its_window_to_its_last_page_and_a_full_read_expects_the_store() -> None:
    clock, said = ManualClock(), []
    delta = EntityProgress(reporter(said, clock), "items", Window(None, None, DELTA), in_store=lambda: 900)
    clock.advance(2)
    delta.page(1, 500)
    delta.finished(2, 800)
    full = EntityProgress(reporter(said, clock), "customers", Window(None, None, FULL), in_store=lambda: 900)
    full.finished(2, 950)
    assert [(p.task, p.done, p.pages, p.total, p.note, p.finished) for p in told(said)] == [
        ("items", 0, 0, None, "delta read", False),
        ("items", 500, 1, None, "delta read", False),
        ("items", 800, 2, None, "delta read", True),
        ("customers", 0, 0, 900, "full read", False),
        ("customers", 950, 2, 900, "full read", True),
    ]


def test_a_send_counts_sent_of_its_backlog_bounded_by_the_run_limit_and_notes_failures() -> None:
    clock, said = ManualClock(), []
    send = SendProgress(reporter(said, clock), backlog=lambda: 500, limit=120)
    assert send.on_answer is not None
    report = SendReport("acme", sent=30, duplicate=2)
    report.failed["SCHEMA"] = 3
    clock.advance(1)
    send.on_answer(report)
    send.finished(report)
    assert [(p.done, p.total, p.unit, p.note, p.finished) for p in told(said)] == [
        (0, 120, "sent", "", False),
        (32, 120, "sent", "3 failed", False),
        (32, 120, "sent", "3 failed", True),
    ]


def test_a_publish_counts_files_without_a_rate() -> None:
    clock, said = ManualClock(), []
    files = FilesProgress(reporter(said, clock), ["catalogue", "accounts"])
    files.doing(0, "building catalogue")
    files.finished()
    assert [(p.done, p.total, p.note, p.rated, p.finished) for p in told(said)] == [
        (0, 2, "building catalogue", False, False),
        (2, 2, "published", False, True),
    ]


def test_without_a_reporter_nothing_is_said_nor_asked() -> None:
    def never() -> int:
        raise AssertionError("the store or the outbox was asked although nobody listens")

    EntityProgress(None, "items", Window(None, None, FULL), in_store=never).finished(1, 1)
    send = SendProgress(None, backlog=never, limit=10)
    assert send.on_answer is None
    send.finished(SendReport("acme"))
    FilesProgress(None, ["catalogue"]).finished()
