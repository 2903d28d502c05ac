"""What operators and sensors read: `outbox status --json`, `outbox list --json`, due tenants, backlog."""

from __future__ import annotations

import json

from sonet_pipeline.config.settings import data_dir
from sonet_pipeline.outbox import FAILED, PENDING, SENT, open_outbox, to_json
from sonet_pipeline.outbox.sqlite_store import SqliteOutbox
from tests.outbox.helpers import TENANT, at, failed, pending, sending, sent


def test_status_has_the_conventions_shape(outbox):
    """`{"tenants": {name: {"pending", "sending", "sent", "failed", "oldest_pending_age_seconds"}}}` with
    counts per state, the oldest pending age in seconds (null without pending), tenants asked for
    included with zeros; plain JSON."""
    sent(outbox, "WEB-1")
    failed(outbox, "WEB-2", tenant="nordic")
    sending(outbox, "WEB-3", tenant="baltic")
    pending(outbox, "WEB-4", now=at(10))
    pending(outbox, "WEB-5", now=at(20))
    status = outbox.status(at(70), tenants=["acme", "quiet"])
    assert json.loads(json.dumps(status)) == status
    assert status == {
        "tenants": {
            "acme": {"pending": 2, "sending": 0, "sent": 1, "failed": 0, "oldest_pending_age_seconds": 60.0},
            "baltic": {"pending": 0, "sending": 1, "sent": 0, "failed": 0, "oldest_pending_age_seconds": None},
            "nordic": {"pending": 0, "sending": 0, "sent": 0, "failed": 1, "oldest_pending_age_seconds": None},
            "quiet": {"pending": 0, "sending": 0, "sent": 0, "failed": 0, "oldest_pending_age_seconds": None},
        }
    }
    assert outbox.status(at(70)).keys() == {"tenants"} and "quiet" not in outbox.status(at(70))["tenants"]


def test_list_filters_and_serialises_messages(outbox):
    """`list` filters by tenant, state and error code, oldest first, with a limit; each message becomes
    one JSON line of the documented shape."""
    a = sent(outbox, "WEB-1", sonet_order_number="SO-1")
    b = failed(outbox, "WEB-2", code="UNKNOWN_ITEM")
    c = failed(outbox, "WEB-3", tenant="nordic", code="SCHEMA")
    assert [m.message_id for m in outbox.list()] == [a, b, c]
    assert [m.message_id for m in outbox.list(tenant=TENANT)] == [a, b]
    assert [m.message_id for m in outbox.list(state=FAILED)] == [b, c]
    assert [m.message_id for m in outbox.list(state="failed", code="SCHEMA")] == [c]
    assert [m.message_id for m in outbox.list(limit=1)] == [a]
    lines = [json.dumps(to_json(m)) for m in outbox.list()]
    first, second = json.loads(lines[0]), json.loads(lines[1])
    assert (first["state"], first["sonet_order_number"], first["error"]) == (SENT, "SO-1", None)
    assert first["created_at"].endswith("Z") and first["updated_at"] == "2026-11-28T04:00:02.000Z"
    assert second["error"] == {"code": "UNKNOWN_ITEM", "message": "no such item", "field": "Lines/Line[1]/ItemCode"}


def test_due_tenants_and_backlog(outbox):
    """`due_tenants` names the tenants with work due now; `backlog` counts what waits for Sonet
    (pending or sending) with the oldest's age."""
    pending(outbox, "WEB-1", now=at(0))
    sending(outbox, "WEB-2", tenant="nordic")
    sent(outbox, "WEB-3", tenant="baltic")
    assert outbox.due_tenants(at(5)) == [TENANT]
    assert outbox.due_tenants(at(61)) == [TENANT, "nordic"], "nordic's claim expired"
    assert outbox.backlog(TENANT, at(30)) == (1, 30.0)
    assert outbox.backlog("nordic", at(30)) == (1, 30.0)
    assert outbox.backlog("baltic", at(30)) == (0, None)
    assert outbox.backlog("nobody", at(30)) == (0, None)


def test_the_default_outbox_is_sqlite_under_the_data_dir():
    """Without a DSN or path, the outbox is `<data dir>/outbox.sqlite`, in WAL mode with FULL sync."""
    with open_outbox() as outbox:
        assert isinstance(outbox, SqliteOutbox) and outbox.path == data_dir() / "outbox.sqlite"
        pending(outbox)
        connection = outbox._connection()
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    assert outbox.path.exists()


def test_a_second_opener_sees_the_same_messages(backend):
    """Another process's view (a new Outbox on the same store) sees every committed message."""
    writer, reader = backend.open(), backend.open()
    message_id = pending(writer)
    message = reader.get(message_id)
    assert message is not None and message.state == PENDING


def test_change_mark_moves_with_every_message_of_the_tenant_and_only_then(outbox):
    """The shop's order status is recomputed when the mark changes: on enqueue and on every move of one
    of the tenant's messages, not for another tenant's, not when nothing happened."""
    marks = [outbox.change_mark(TENANT)]
    message_id = pending(outbox, "WEB-1", now=at(10))
    marks.append(outbox.change_mark(TENANT))
    assert outbox.change_mark(TENANT) == marks[-1]
    failed(outbox, "WEB-2", tenant="nordic")
    assert outbox.change_mark(TENANT) == marks[-1]
    outbox.claim(TENANT, now=at(10), limit=10, owner="run", claim_seconds=60)  # the same instant as enqueue
    marks.append(outbox.change_mark(TENANT))
    outbox.mark_sent(message_id, sonet_order_number="SO-1", duplicate=False, actor="run", now=at(10))
    marks.append(outbox.change_mark(TENANT))
    assert len(set(marks)) == len(marks)
