"""The stand-in's journal: what was changed and accepted survives a restart, and a crash mid-write."""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.standin import activity, journal
from sonet_pipeline.standin.journal import Journal, JournalError
from sonet_pipeline.standin.runtime import AcceptedOrder, Company, Standin
from sonet_pipeline.standin.state import ENTITY_KEYS, to_ms
from tests.standin.test_activity import START, make_standin

REPO = Path(__file__).resolve().parents[2]


def _order(n: int, received_at: datetime) -> AcceptedOrder:
    canonical = f'<SalesOrder><MessageId>m-{n}</MessageId><Note>ä € "{n}"</Note></SalesOrder>'.encode()
    return AcceptedOrder(f"m-{n}", canonical + bytes([0, 255]), f"SO{n:06d}", received_at, f"W{n}", "C10042")


def _accept(standin: Standin, company: Company, log: Journal, order: AcceptedOrder) -> None:
    """What the Message API does: the salesOrders record as a change, then the order itself."""
    record = {
        "messageId": order.message_id,
        "sonetOrderNumber": order.sonet_order_number,
        "webOrderNumber": order.web_order_number,
        "customerNumber": order.customer_number,
        "orderStatus": "RECEIVED",
    }
    standin.apply_change(company, "salesOrders", [record])
    log.append_order(company.code, order)
    company.orders[order.message_id] = order


def _observable(standin: Standin) -> dict:
    """Everything a client or the admin can see now: every listing in order, and each key's newest version."""
    seen: dict = {}
    for code, company in sorted(standin.companies.items()):
        for entity in ENTITY_KEYS:
            listing, after = [], None
            while True:
                page = company.state.page(entity, first=500, after=after)
                listing += list(zip(page.positions, page.records, strict=True))
                if not page.has_next_page:
                    break
                after = page.positions[-1]
            seen[(code, entity)] = (listing, list(company.state.snapshot(entity)))
    return seen


def _busy_standin(clock: ManualClock, path: Path) -> Standin:
    """A stand-in whose journal holds random, late, back-dated and bulk changes and accepted orders."""
    standin = make_standin(clock, items=700, late_share=0.3)
    log = Journal(path)
    standin.change_log = log
    rng = random.Random(1)
    for step in range(6):
        for n, company in enumerate(standin.companies.values()):
            activity.random_changes(standin, company, 80, rng)
            _accept(standin, company, log, _order(10 * step + n, clock.now()))
        clock.advance(7.5)
    activity.backdated_changes(standin, standin.companies["C2"], 30, 45.0, rng)
    activity.bulk_update(standin, standin.companies["C1"], "items", 600)
    log.close()
    return standin


def test_replay_restores_every_version_with_its_visibility_and_every_order(tmp_path):
    """After replay, queries see exactly what they saw before, at every instant; orders are back, none twice."""
    clock = ManualClock(START)
    before = _busy_standin(clock, tmp_path / "journal.jsonl")
    lines = (tmp_path / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    after = make_standin(clock, items=700, late_share=0.3)
    assert Journal(tmp_path / "journal.jsonl").replay(after) == len(lines)

    pending = sorted({json.loads(line)["visible_ms"] for line in lines if '"kind":"change"' in line})
    instants = [ms for ms in pending if ms > to_ms(clock.now())]
    assert len(instants) > 50  # late and back-dated changes still to come
    assert _observable(after) == _observable(before)
    for ms in [*instants[:: max(1, len(instants) // 40)], instants[-1]]:
        clock.set(datetime.fromtimestamp((ms - 1) / 1000, UTC))
        assert _observable(after) == _observable(before)
        clock.set(datetime.fromtimestamp(ms / 1000, UTC))
        assert _observable(after) == _observable(before)
    for code, company in before.companies.items():
        assert after.companies[code].orders == company.orders and len(company.orders) == 6
        assert after.companies[code].state.count("salesOrders") == 6


def test_lines_carry_iso_datetimes_in_utc_and_the_order_bytes_in_base64(tmp_path):
    """A change line has dateModified as ISO with ms and Z plus visible_ms; an order line its exact bytes."""
    clock = ManualClock(START)
    standin = make_standin(clock)
    log = Journal(tmp_path / "j.jsonl")
    standin.change_log = log
    _accept(standin, standin.companies["C1"], log, _order(1, clock.now()))
    change, order = (json.loads(line) for line in (tmp_path / "j.jsonl").read_text("utf-8").splitlines())
    assert change["record"]["dateModified"] == "2026-11-28T04:00:00.000Z" and change["visible_ms"] == to_ms(START)
    assert order["receivedAt"] == "2026-11-28T04:00:00.000Z"
    restored = make_standin(clock)
    log.replay(restored)
    assert restored.companies["C1"].orders["m-1"].canonical == _order(1, START).canonical
    assert restored.companies["C1"].state.latest("salesOrders", "m-1")["dateModified"] == START


def test_a_torn_last_line_is_skipped_with_a_warning_and_cut_off_before_the_next_append(tmp_path, caplog):
    """A crash mid-write loses only the torn line: replay warns, and the next append starts a clean line."""
    path = tmp_path / "j.jsonl"
    clock = ManualClock(START)
    standin = make_standin(clock)
    log = Journal(path)
    standin.change_log = log
    activity.random_changes(standin, standin.companies["C1"], 20, random.Random(2))
    _accept(standin, standin.companies["C1"], log, _order(1, clock.now()))
    log.close()
    whole = path.read_bytes()
    last = whole.splitlines(keepends=True)[-1]
    for torn in (last[: len(last) // 2], b"\0" * 40 + b"\n"):  # cut short; zeros after a lost write
        path.write_bytes(whole + torn)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger=journal.__name__):
            assert Journal(path).replay(make_standin(clock)) == 22  # 20 changes, an order's record and the order
        assert "torn last line" in caplog.text and "line 23" in caplog.text

        log = Journal(path)
        log.append_order("C1", _order(2, clock.now()))
        log.close()
        rest = path.read_bytes().removeprefix(whole)
        assert rest.count(b"\n") == 1 and json.loads(rest)["messageId"] == "m-2"
        restored = make_standin(clock)
        assert Journal(path).replay(restored) == 23
        assert set(restored.companies["C1"].orders) == {"m-1", "m-2"}


def test_damage_before_the_last_line_and_unknown_companies_are_clear_errors(tmp_path):
    """Only the last line may be torn; anything else unreadable, or a company not configured, names file and line."""
    path = tmp_path / "j.jsonl"
    log = Journal(path)
    for n in range(3):
        log.append_order("C1", _order(n, START))
    log.close()
    good = path.read_bytes().splitlines(keepends=True)

    path.write_bytes(good[0] + b'{"kind": "order", "comp\n' + good[2])
    with pytest.raises(JournalError, match=rf"{path}.* line 2"):
        Journal(path).replay(make_standin())

    path.write_bytes(b"".join(good))
    with pytest.raises(JournalError, match=rf"{path} line 1: unknown company 'C1'.*\bX1\b"):
        Journal(path).replay(make_standin(codes=("X1",)))
    assert Journal(tmp_path / "absent.jsonl").replay(make_standin()) == 0


def test_orders_are_fsynced_at_once_and_changes_in_batches(tmp_path, monkeypatch):
    """Each accepted order is fsynced before append_order returns; changes every SYNC_EVERY_LINES, and at close."""
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(journal.os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    monkeypatch.setattr(journal, "SYNC_EVERY_SECONDS", 3600.0)
    clock = ManualClock(START)
    standin = make_standin(clock, items=600)
    log = Journal(tmp_path / "j.jsonl")
    standin.change_log = log
    activity.bulk_update(standin, standin.companies["C1"], "items", journal.SYNC_EVERY_LINES - 1)
    assert synced == []
    assert len((tmp_path / "j.jsonl").read_bytes().splitlines()) == journal.SYNC_EVERY_LINES - 1  # flushed
    log.append_order("C1", _order(1, START))
    assert len(synced) == 1
    activity.bulk_update(standin, standin.companies["C1"], "items", journal.SYNC_EVERY_LINES)
    assert len(synced) == 2
    log.close()
    assert len(synced) == 3


def test_an_accepted_order_survives_the_process_dying_right_after(tmp_path):
    """A process killed without closing the journal (os._exit) still leaves the order and the changes readable."""
    path = tmp_path / "j.jsonl"
    script = f"""
import os, random
from tests.standin.test_activity import make_standin
from tests.standin.test_journal import _accept, _order, START
from sonet_pipeline.standin import activity
from sonet_pipeline.standin.journal import Journal
standin = make_standin()
log = Journal({str(path)!r})
standin.change_log = log
activity.random_changes(standin, standin.companies["C1"], 5, random.Random(1))
_accept(standin, standin.companies["C1"], log, _order(7, START))
activity.random_changes(standin, standin.companies["C1"], 5, random.Random(2))
os._exit(9)
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 9, done.stderr
    restored = make_standin()
    assert Journal(path).replay(restored) == 12
    assert set(restored.companies["C1"].orders) == {"m-7"}


def test_appends_from_many_threads_never_interleave(tmp_path):
    """Concurrent appends each land as one whole line."""
    log = Journal(tmp_path / "j.jsonl")

    def append(worker: int) -> None:
        for n in range(150):
            log.append_order("C1", _order(worker * 1000 + n, START))

    threads = [threading.Thread(target=append, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    restored = make_standin()
    assert Journal(tmp_path / "j.jsonl").replay(restored) == 900
    assert len(restored.companies["C1"].orders) == 900
