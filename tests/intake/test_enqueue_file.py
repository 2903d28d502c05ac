"""`orders enqueue FILE`: one object, an array or JSON Lines; each order judged alone, placed by line or index."""

from __future__ import annotations

import json

import pytest

from sonet_pipeline.intake.enqueue_file import EnqueueFileError, enqueue_file
from sonet_pipeline.outbox import open_outbox
from tests.intake.conftest import TENANTS, order

ACME = TENANTS[0]


@pytest.fixture
def outbox(tmp_path):
    with open_outbox(tmp_path / "outbox.sqlite") as opened:
        yield opened


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_one_object_is_enqueued_and_again_is_a_duplicate(tmp_path, outbox, seed_rights):
    """A file holding one (pretty-printed) order stores it; the same file again reports a duplicate
    of the same message; neither run refuses anything (exit code 0)."""
    sent = order()
    path = _write(tmp_path, "one.json", json.dumps(sent, indent=2))
    first = enqueue_file(path, tenant=ACME, outbox=outbox, rights=seed_rights)
    assert first.layout == "object"
    [entry] = first.orders
    assert (entry.outcome, entry.position, entry.order_number, entry.state) == (
        "accepted",
        "the document",
        sent["orderNumber"],
        "pending",
    )
    assert outbox.get(entry.message_id).order == sent
    [again] = enqueue_file(path, tenant=ACME, outbox=outbox, rights=seed_rights).orders
    assert (again.outcome, again.message_id) == ("duplicate", entry.message_id)
    assert first.exit_code == 0


def test_array_reports_refused_orders_by_index_and_stores_the_others(tmp_path, outbox, seed_rights):
    """In an array each order is judged alone: the invalid one is refused with its index and field
    and not stored; the valid ones around it are stored; exit code 1."""
    orders = [order(), order(createdAt="yesterday"), order()]
    path = _write(tmp_path, "orders.json", json.dumps(orders))
    report = enqueue_file(path, tenant=ACME, outbox=outbox, rights=seed_rights, batch_size=1)
    assert report.layout == "array"
    assert [o.outcome for o in report.orders] == ["accepted", "refused", "accepted"]
    refused = report.orders[1]
    assert refused.position == "index 1"
    assert refused.error is not None and refused.error.field == "createdAt"
    assert "index 1" in refused.describe() and "createdAt" in refused.describe()
    assert outbox.find("acme", orders[1]["orderNumber"]) is None
    assert report.counts == {"accepted": 2, "duplicate": 0, "conflict": 0, "refused": 1, "kept_failed": 0}
    assert report.exit_code == 1


def test_json_lines_reports_refused_lines_by_number(tmp_path, outbox, seed_rights):
    """JSON Lines: a line that is not JSON and a line that is invalid are refused with their line
    numbers (blank lines count); a conflicting order is reported as a conflict naming the message."""
    stored = order()
    first_id = outbox.enqueue("acme", stored, actor="test", now=_now()).message_id
    lines = [
        json.dumps(order()),
        "{not json",
        "",
        json.dumps(order(lines=[{"sku": "A", "quantity": "x", "unitPrice": "1", "vatRate": "24"}])),
        json.dumps({**stored, "comment": "other content"}),
        json.dumps(order(customer={"kind": "account"})),
    ]
    report = enqueue_file(
        _write(tmp_path, "orders.jsonl", "\n".join(lines) + "\n"), tenant=ACME, outbox=outbox, rights=seed_rights
    )
    assert report.layout == "lines"
    outcomes = [(o.position, o.outcome, o.error.field if o.error else None) for o in report.orders]
    assert outcomes == [
        ("line 1", "accepted", None),
        ("line 2", "refused", None),
        ("line 4", "refused", "lines[0].quantity"),
        ("line 5", "conflict", "orderNumber"),
        ("line 6", "refused", "customer.customerNumber"),
    ]
    assert report.orders[1].error.code == "INVALID_JSON"
    assert report.orders[3].message_id == first_id
    assert report.exit_code == 1


def test_valid_but_unmappable_order_is_accepted_not_refused(tmp_path, outbox, seed_rights):
    """An order valid per the schema and the intake's rules (a quantity of 0) is stored: whether it
    can become a SalesOrder is decided when its message is built, not here."""
    zero = order(lines=[{"sku": "BOOT-PRO-43", "quantity": "0", "unitPrice": "1", "vatRate": "25.5"}])
    report = enqueue_file(
        _write(tmp_path, "zero.json", json.dumps(zero)), tenant=ACME, outbox=outbox, rights=seed_rights
    )
    assert [o.outcome for o in report.orders] == ["accepted"]


@pytest.mark.parametrize(
    ("content", "why"), [(b"", "empty"), (b"  \n", "empty"), (b"[{]", "array"), (b"\xff{}", "UTF-8")]
)
def test_a_file_that_cannot_be_read_as_orders_is_an_error_of_the_file(tmp_path, outbox, content, why, seed_rights):
    """An empty file, an array that does not parse, or bytes that are not UTF-8 raise EnqueueFileError
    naming the file; a missing file too."""
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(EnqueueFileError, match=why) as raised:
        enqueue_file(path, tenant=ACME, outbox=outbox, rights=seed_rights)
    assert str(path) in str(raised.value)
    with pytest.raises(EnqueueFileError, match="cannot read"):
        enqueue_file(tmp_path / "missing.json", tenant=ACME, outbox=outbox, rights=seed_rights)


def _now():
    from datetime import UTC, datetime

    return datetime(2026, 11, 28, 5, 0, tzinfo=UTC)


def test_json_lines_split_only_at_newlines(tmp_path, outbox, seed_rights):
    """A line separator character inside a JSON string (U+2028, raw) does not cut a JSON Lines line,
    and Windows line ends are fine."""
    orders = [order(comment="one\u2028two\x0bthree"), order()]
    text = "\r\n".join(json.dumps(o, ensure_ascii=False) for o in orders)
    report = enqueue_file(_write(tmp_path, "crlf.jsonl", text), tenant=ACME, outbox=outbox, rights=seed_rights)
    assert [(o.position, o.outcome) for o in report.orders] == [("line 1", "accepted"), ("line 2", "accepted")]
