"""The audit archive end to end: send runs through Dagster against the running stand-in archive every
attempt (accepted, rejected, 503 then accepted, a lost answer then its resend) with the exact bytes sent
and Sonet's answer; no archived object holds the token; `outbox show --json` names the archive; `outbox
correct` keeps the refused version's bytes and answer; an archive that cannot be written stops nothing
and is counted."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterEventType

from sonet_pipeline.archive import ArchivedAttempt, open_archive
from sonet_pipeline.cli.main import main
from sonet_pipeline.cli.runs.send import format_summary, run_send
from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.config import settings
from sonet_pipeline.outbox import FAILED, SENDING, SENT
from tests.assets import test_orders as e2e
from tests.standin.standin_http import TOKENS

pytestmark = pytest.mark.slow


def attempts(message_id: str) -> list[ArchivedAttempt]:
    return open_archive(None).list("acme", message_id)


def stored(uri: str | None) -> bytes:
    """The bytes of an archived file named by its `file://` location."""
    assert uri is not None and uri.startswith("file://")
    return Path(uri.removeprefix("file://")).read_bytes()


def answer(attempt: ArchivedAttempt) -> dict[str, Any]:
    return json.loads(stored(attempt.answer))


def archived_files() -> Iterator[Path]:
    yield from (path for path in (settings.data_dir() / "archive").rglob("*") if path.is_file())


def show(message_id: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["outbox", "show", message_id, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_every_attempt_is_archived_with_its_exact_bytes_and_answer(start_standin, tmp_path, monkeypatch, capsys):
    """Accepted, rejected (an unknown item), 503 then accepted, a lost answer then DUPLICATE: each attempt's
    request is the outbox's bytes exactly, each answer its status, headers and body (the lost one "no
    answer"); no archived file holds the token; the run reports no archive failure."""
    sonet = start_standin()
    e2e.write_tenants(sonet, tmp_path, monkeypatch)
    procession = e2e.Procession(sonet)
    procession.sync()
    good, unknown_item = procession.enqueue(e2e.order("WEB-1"), e2e.order("WEB-2", lines__1__sku="NO-SUCH-ITEM"))
    figures = procession.send()
    assert (figures["sent"], figures["failed"], figures["archive_failures"]) == (1, 1, 0)
    assert figures["archive"].endswith("/archive/acme")

    [flaky] = procession.enqueue(e2e.order("WEB-3"))
    sonet.admin_json("POST", "/maintenance", json={"seconds": 30})
    assert procession.send()["retried"] == 1
    sonet.advance(600)
    assert procession.send()["sent"] == 1

    [lost] = procession.enqueue(e2e.order("WEB-4"))
    sonet.admin_json("POST", "/faults", json={"lost_answer_share": 1.0})
    # Every answer lost: the run resends after each backoff while it comes within LOST_WAIT_SECONDS.
    unanswered = procession.send()["without_answer"]
    assert unanswered >= 1 and procession.outbox.get(lost).state == SENDING
    sonet.admin_json("POST", "/faults", json={"lost_answer_share": 0})
    sonet.advance(61)  # past the last backoff (the policy's cap is 60 s)
    assert procession.send()["duplicate"] == 1

    outcomes = {
        mid: [(a.attempt, a.outcome, a.status) for a in attempts(mid)] for mid in (good, unknown_item, flaky, lost)
    }
    assert outcomes == {
        good: [(1, "ACCEPTED", 201)],
        unknown_item: [(1, "REJECTED", 400)],
        flaky: [(1, "TRANSIENT", 503), (2, "ACCEPTED", 201)],
        lost: [*((n, "UNKNOWN", None) for n in range(1, unanswered + 1)), (unanswered + 1, "DUPLICATE", 200)],
    }
    for mid in (good, unknown_item, flaky, lost):
        xml = procession.outbox.get(mid).xml
        assert all(stored(a.request) == xml for a in attempts(mid)), "the bytes sent, exactly"

    [rejected] = attempts(unknown_item)
    document = answer(rejected)
    assert document["outcome"]["code"] == "UNKNOWN_ITEM" and document["outcome"]["field"] == "Lines/Line[2]/ItemCode"
    body = stored(rejected.body)
    assert b"UNKNOWN_ITEM" in body
    assert document["answer"]["body"] == {
        "name": Path(rejected.body or "").name,
        "bytes": len(body),
        "sha256": _sha(body),
    }
    assert {k.lower() for k in document["answer"]["headers"]} >= {"content-type"}
    unavailable = answer(attempts(flaky)[0])
    assert {k.lower(): v for k, v in unavailable["answer"]["headers"].items()}["retry-after"] == "30"
    no_answer = answer(attempts(lost)[0])
    assert no_answer["answer"] is None and no_answer["no_answer"].startswith("no answer")
    assert attempts(lost)[0].body is None
    receipt = answer(attempts(good)[0])
    assert receipt["outcome"]["sonet_order_number"] == procession.outbox.get(good).sonet_order_number
    assert (receipt["order_number"], receipt["order_version"]) == ("WEB-1", 1)

    token = TOKENS["01"].encode()
    files = list(archived_files())
    assert len(files) > 20 and not [path for path in files if token in path.read_bytes()]

    shown = show(unknown_item, capsys)
    assert shown["archive"]["location"] == open_archive(None).location("acme", unknown_item)
    assert [(a["attempt"], a["outcome"], a["status"], a["code"]) for a in shown["archive"]["attempts"]] == [
        (1, "REJECTED", 400, "UNKNOWN_ITEM")
    ]
    assert shown["archive"]["attempts"][0]["request"] == rejected.request


def test_correct_keeps_the_refused_versions_bytes_and_answer(sonet, tmp_path, monkeypatch, capsys):
    """A rejected message corrected and sent again: the refused version's XML (byte for byte, `show --xml
    --version 1`) and Sonet's error stay in the outbox, its attempt and answer stay in the archive, beside
    the accepted attempt of the corrected version; the message is sent once."""
    e2e.write_tenants(sonet, tmp_path, monkeypatch)
    procession = e2e.Procession(sonet)
    procession.sync()
    [mid] = procession.enqueue(e2e.order("WEB-7", lines__1__sku="NO-SUCH-ITEM"))
    procession.send()
    refused_xml = procession.outbox.get(mid).xml
    assert procession.outbox.get(mid).state == FAILED and refused_xml

    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps(e2e.order("WEB-7")))
    assert main(["outbox", "correct", mid, str(fixed)]) == 0
    assert "kept" in capsys.readouterr().out
    shown = show(mid, capsys)
    assert shown["state"] == "pending" and shown["versions"][1]["refused"] is None
    refused = shown["versions"][0]["refused"]
    assert (refused["error"]["code"], refused["error"]["field"]) == ("UNKNOWN_ITEM", "Lines/Line[2]/ItemCode")
    assert (refused["attempts"], refused["xml_bytes"]) == (1, len(refused_xml))
    assert refused["xml_sha256"] == _sha(refused_xml)
    assert main(["outbox", "show", mid, "--xml", "--version", "1"]) == 0
    assert capsys.readouterr().out.encode() == refused_xml
    assert main(["outbox", "show", mid, "--xml", "--version", "5"]) == 2

    later = e2e.Procession(sonet, clock=ManualClock(datetime.now(UTC) + timedelta(seconds=1)))  # the CLI's time
    assert later.send()["sent"] == 1
    message = procession.outbox.get(mid)
    assert message.state == SENT and message.xml != refused_xml
    first, second = attempts(mid)
    assert (first.outcome, second.outcome) == ("REJECTED", "ACCEPTED")
    assert stored(first.request) == refused_xml and stored(second.request) == message.xml
    assert (answer(first)["order_version"], answer(second)["order_version"]) == (1, 2)
    assert b"UNKNOWN_ITEM" in stored(first.body)
    [kept] = procession.outbox.refused_versions(mid)
    assert (kept.version, kept.xml, kept.error.code) == (1, refused_xml, "UNKNOWN_ITEM")
    e2e.accepted_once(sonet, [mid])


def test_an_archive_that_cannot_be_written_stops_no_send_and_is_reported(sonet, tmp_path, monkeypatch):
    """The archive's folder is unusable (a file stands in its place): every order is still sent exactly
    once, and the run counts each attempt it could not archive (`archive_failures`), names them in the
    failed `archive_complete` check, and the send summary shows the count."""
    e2e.write_tenants(sonet, tmp_path, monkeypatch)
    procession = e2e.Procession(sonet)
    procession.sync()
    (settings.data_dir() / "archive").write_text("not a folder")
    ids = procession.enqueue(e2e.order("WEB-5"), e2e.order("WEB-6"))
    summary = run_send(procession.defs, procession.instance, procession.tenants)
    assert summary.success, summary.failures
    figures = summary.tenants["acme"]["messages_delivered"]
    assert (figures["sent"], figures["archive_failures"]) == (2, 2)
    assert set(procession.states(ids).values()) == {SENT}
    e2e.accepted_once(sonet, ids)
    [check] = [
        entry.dagster_event.event_specific_data
        for entry in procession.instance.all_logs(summary.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
        if entry.dagster_event.event_specific_data.check_name == "archive_complete"
    ]
    assert not check.passed and check.metadata["archive_failures"].value == 2
    assert all(mid in check.metadata["attempts"].value for mid in ids)
    assert any("archive_failures 2" in line for line in format_summary(summary))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
