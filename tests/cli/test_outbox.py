"""`sonet-pipeline outbox ...`: status, list, show, resend, correct and reconcile, as conventions.md says.

Messages are brought into their states with the outbox API directly; reconcile talks to a real stand-in
over HTTP, which accepts real SalesOrder XML first. The commands run through `cli.main` once the lead
wires `add_outbox_commands` into `build_parser`; until then through a parser made the same way.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sonet_pipeline.cli import main as cli
from sonet_pipeline.cli.outbox import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_outbox_commands
from sonet_pipeline.config.tenants import TenantConfigError
from sonet_pipeline.orders.sales_order_xml import BuiltMessage, build_sales_order
from sonet_pipeline.outbound.reconcile import MISSING_AFTER_SECONDS, Kind, SonetOrder, compare
from sonet_pipeline.outbox import Message, Outbox, open_outbox
from tests.outbox.helpers import order
from tests.standin.standin_http import TOKENS, SonetClient, message_answer

LIST_KEYS = {
    "message_id",
    "tenant",
    "order_number",
    "state",
    "attempts",
    "sonet_order_number",
    "error",
    "created_at",
    "updated_at",
}
STATUS_KEYS = {"pending", "sending", "sent", "failed", "oldest_pending_age_seconds"}


@functools.cache
def _wired() -> bool:
    parser = cli.build_parser()
    return any(isinstance(a, argparse._SubParsersAction) and "outbox" in a.choices for a in parser._actions)


def run(*argv: str) -> int:
    """The command's exit code, through `cli.main` when it knows `outbox`, else as `main` would run it."""
    if _wired():
        return cli.main(list(argv))
    parser = argparse.ArgumentParser(prog="sonet-pipeline")
    add_outbox_commands(parser.add_subparsers(title="commands", required=True, metavar="COMMAND"))
    args = parser.parse_args(list(argv))
    try:
        return int(args.handler(args))
    except TenantConfigError as exc:
        print(f"sonet-pipeline: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _configure(monkeypatch: pytest.MonkeyPatch, folder: Path, base_url: str) -> None:
    path = folder / "tenants.yaml"
    path.write_text(
        "tenants:\n"
        f"  - {{name: acme, sonet: {{base_url: '{base_url}', company: '01', token_env: ACME_SONET_TOKEN}}}}\n"
        f"  - {{name: nordic, sonet: {{base_url: '{base_url}', company: '02', token_env: NORDIC_SONET_TOKEN}}}}\n"
    )
    monkeypatch.setenv("SONET_PIPELINE_TENANTS", str(path))
    monkeypatch.setenv("ACME_SONET_TOKEN", TOKENS["01"])
    monkeypatch.setenv("NORDIC_SONET_TOKEN", TOKENS["02"])


@pytest.fixture(autouse=True)
def _tenants(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Two tenants (no Sonet needed but for reconcile) and the SQLite outbox under the test's data dir."""
    monkeypatch.delenv("SONET_PIPELINE_POSTGRES_DSN", raising=False)
    _configure(monkeypatch, tmp_path, "http://127.0.0.1:9")


@pytest.fixture
def outbox() -> Iterator[Outbox]:
    with open_outbox() as opened:
        yield opened


@pytest.fixture
def sonet(start_standin: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> SonetClient:
    """A running stand-in (companies 01 and 02) that the tenants point at."""
    standin = start_standin(items=60, companies=("01", "02"))
    _configure(monkeypatch, tmp_path, standin.base_url)
    return standin


def message(
    outbox: Outbox,
    number: str,
    state: str,
    *,
    tenant: str = "acme",
    code: str = "UNKNOWN_ITEM",
    at: datetime | None = None,
) -> str:
    """A message in `state` (pending, sending, sent as SO-1, failed with `code`), built as real SalesOrder
    XML. Make pending ones last: a claim takes the tenant's oldest due message."""
    when = at or _now()
    message_id = outbox.enqueue(tenant, order(number), actor="intake", now=when).message_id
    if state == "pending":
        return message_id
    (claimed,) = outbox.claim(tenant, now=when, limit=1, owner="run-1", claim_seconds=60)
    assert claimed.message_id == message_id
    outbox.record_built(message_id, _xml(order(number), message_id), now=when)
    if state == "sent":
        outbox.mark_sent(message_id, sonet_order_number="SO-1", duplicate=False, actor="run-1", now=when)
    elif state == "failed":
        where = "Lines/Line[1]/ItemCode"
        outbox.mark_failed(message_id, code=code, message="no such item", field=where, actor="run-1", now=when)
    return message_id


def _xml(web_order: dict[str, Any], message_id: str) -> bytes:
    built = build_sales_order(web_order, message_id=message_id, variant_attributes=lambda sku: None)
    assert isinstance(built, BuiltMessage), built
    return built.xml


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def _stored(outbox: Outbox, message_id: str) -> Message:
    found = outbox.get(message_id)
    assert found is not None
    return found


def _state(outbox: Outbox, message_id: str) -> str:
    return str(_stored(outbox, message_id).state)


def _xml_of(outbox: Outbox, message_id: str) -> bytes:
    xml = _stored(outbox, message_id).xml
    assert xml is not None
    return xml


def _now() -> datetime:
    return datetime.now(UTC)


def _instant(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    assert parsed.tzinfo is not None, text
    return parsed


@pytest.mark.parametrize("command", ["status", "list", "show", "resend", "correct", "reconcile"])
def test_every_outbox_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`outbox <command> --help` exits 0 and prints its usage."""
    with pytest.raises(SystemExit) as info:
        run("outbox", command, "--help")
    assert info.value.code == 0
    assert f"outbox {command}" in capsys.readouterr().out


def test_status_json_is_the_conventions_document(outbox: Outbox, capsys: pytest.CaptureFixture[str]) -> None:
    """`status --json` is one document {"tenants": {name: counts per state, oldest pending age}}, every
    configured tenant included, also one without messages."""
    message(outbox, "WEB-1", "failed")
    message(outbox, "WEB-2", "sent")
    message(outbox, "WEB-3", "pending", at=_now() - timedelta(seconds=30))
    assert run("outbox", "status", "--json") == EXIT_OK
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"tenants"} and set(report["tenants"]) == {"acme", "nordic"}
    acme, nordic = report["tenants"]["acme"], report["tenants"]["nordic"]
    assert set(acme) == set(nordic) == STATUS_KEYS
    assert (acme["pending"], acme["sending"], acme["sent"], acme["failed"]) == (1, 0, 1, 1)
    assert 30 <= acme["oldest_pending_age_seconds"] < 60
    assert nordic == {"pending": 0, "sending": 0, "sent": 0, "failed": 0, "oldest_pending_age_seconds": None}
    assert run("outbox", "status") == EXIT_OK
    assert "TENANT" in capsys.readouterr().out


def test_list_json_lines_carry_the_conventions_keys_and_filter(
    outbox: Outbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """`list --json` prints one message per line with the conventions' keys (error an object or null,
    timestamps with an offset); --tenant, --state, --code and --limit filter."""
    failed = message(outbox, "WEB-1", "failed", code="UNKNOWN_ITEM")
    message(outbox, "WEB-2", "failed", code="SCHEMA")
    message(outbox, "WEB-3", "sent", tenant="nordic")
    assert run("outbox", "list", "--json") == EXIT_OK
    lines = _lines(capsys.readouterr().out)
    assert [line["order_number"] for line in lines] == ["WEB-1", "WEB-2", "WEB-3"]
    for line in lines:
        assert set(line) >= LIST_KEYS
        assert _instant(line["created_at"]) <= _instant(line["updated_at"])
    assert lines[0]["error"] == {"code": "UNKNOWN_ITEM", "message": "no such item", "field": "Lines/Line[1]/ItemCode"}
    assert lines[2]["error"] is None and lines[2]["sonet_order_number"] == "SO-1" and lines[2]["state"] == "sent"
    assert run("outbox", "list", "--json", "--state", "failed", "--code", "UNKNOWN_ITEM", "--tenant", "acme") == 0
    assert [line["message_id"] for line in _lines(capsys.readouterr().out)] == [failed]
    assert run("outbox", "list", "--json", "--limit", "2") == EXIT_OK
    assert len(_lines(capsys.readouterr().out)) == 2
    assert run("outbox", "list") == EXIT_OK
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:2] == ["MESSAGE", "ID"] and failed in table[1]


def test_show_gives_the_message_its_events_and_versions(outbox: Outbox, capsysbinary: Any, tmp_path: Path) -> None:
    """`show --json` is the message with its current order, every move (when, from, to, actor, reason)
    and every order version; `--xml` prints the stored XML byte for byte; an unknown id exits 2."""
    message_id = message(outbox, "WEB-1", "failed")
    xml = _xml_of(outbox, message_id)
    assert run("outbox", "show", message_id, "--xml") == EXIT_OK
    assert capsysbinary.readouterr().out == xml
    corrected = order("WEB-1", comment="corrected")
    (tmp_path / "fix.json").write_text(json.dumps(corrected))
    assert run("outbox", "correct", message_id, str(tmp_path / "fix.json")) == EXIT_OK
    capsysbinary.readouterr()
    assert run("outbox", "show", message_id, "--json") == EXIT_OK
    shown = json.loads(capsysbinary.readouterr().out)
    assert set(shown) >= LIST_KEYS and shown["state"] == "pending" and shown["order"] == corrected
    assert [(e["from"], e["to"]) for e in shown["events"]] == [
        (None, "pending"),
        ("pending", "sending"),
        ("sending", "failed"),
        ("failed", "pending"),
    ]
    assert shown["events"][-1]["actor"].startswith("cli: outbox correct (")
    assert all(set(e) == {"at", "from", "to", "actor", "reason"} and _instant(e["at"]) for e in shown["events"])
    assert [(v["version"], v["order"]) for v in shown["versions"]] == [(1, order("WEB-1")), (2, corrected)]
    assert (
        shown["versions"][1]["refused"] is None and shown["versions"][0]["refused"]["error"]["code"] == "UNKNOWN_ITEM"
    )
    assert run("outbox", "show", message_id) == EXIT_OK
    assert b"events:" in capsysbinary.readouterr().out
    assert run("outbox", "show", str(uuid.uuid4())) == EXIT_USAGE
    assert b"no message" in capsysbinary.readouterr().err
    assert run("outbox", "show", message(outbox, "WEB-2", "pending"), "--xml") == EXIT_FAILED  # not built yet
    assert capsysbinary.readouterr().out == b""


@pytest.mark.parametrize("how", ["message-id", "order-number", "failed-with"])
def test_resend_puts_the_selected_failed_messages_back_to_pending(
    how: str, outbox: Outbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """`resend` by message id, by order number (with --tenant) or by error code moves exactly the selected
    failed messages to pending, keeps their bytes, exits 0 and prints the ids moved."""
    first = message(outbox, "WEB-1", "failed", code="UNKNOWN_ITEM")
    other = message(outbox, "WEB-2", "failed", code="SCHEMA")
    xml = _xml_of(outbox, first)
    selected = {
        "message-id": ["--message-id", first],
        "order-number": ["--order-number", "WEB-1", "--tenant", "acme"],
        "failed-with": ["--failed-with", "UNKNOWN_ITEM"],
    }[how]
    assert run("outbox", "resend", *selected, "--json") == EXIT_OK
    moved = _lines(capsys.readouterr().out)
    assert [(m["message_id"], m["state"], m["error"]) for m in moved] == [(first, "pending", None)]
    assert (_state(outbox, first), _state(outbox, other)) == ("pending", "failed")
    assert _xml_of(outbox, first) == xml
    assert outbox.events(first)[-1].actor.startswith("cli: outbox resend (")


def test_resend_refuses_a_sent_message_and_moves_nothing(outbox: Outbox, capsys: pytest.CaptureFixture[str]) -> None:
    """A selection holding a sent message is refused as a whole: exit 2 naming it, the failed one stays failed."""
    failed = message(outbox, "WEB-1", "failed")
    sent = message(outbox, "WEB-2", "sent")
    assert run("outbox", "resend", "--message-id", failed, "--message-id", sent) == EXIT_USAGE
    captured = capsys.readouterr()
    assert sent in captured.err and "nothing was moved" in captured.err and captured.out == ""
    assert (_state(outbox, failed), _state(outbox, sent)) == ("failed", "sent")
    assert run("outbox", "resend", "--order-number", "WEB-1") == EXIT_USAGE  # order numbers need --tenant
    assert _state(outbox, failed) == "failed"


def test_correct_replaces_the_order_keeps_versions_and_goes_pending(
    outbox: Outbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A valid corrected order with the same orderNumber becomes version 2, the message pending with its
    XML cleared (rebuilt under the same MessageId); version 1 stays."""
    message_id = message(outbox, "WEB-1", "failed")
    corrected = order("WEB-1", lines=[{"sku": "BOOT-PRO-43", "quantity": "1", "unitPrice": "59.90", "vatRate": "25.5"}])
    path = tmp_path / "fix.json"
    path.write_text(json.dumps(corrected))
    assert run("outbox", "correct", message_id, str(path), "--json") == EXIT_OK
    shown = json.loads(capsys.readouterr().out)
    assert (shown["message_id"], shown["state"], shown["version"], shown["error"]) == (message_id, "pending", 2, None)
    after = outbox.get(message_id)
    assert after is not None and after.order == corrected and after.xml is None
    assert outbox.versions(message_id) == [order("WEB-1"), corrected]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"currency": "euro"}, "currency"),  # the JSON schema
        ({"customer": {"kind": "account", "customerNumber": " "}}, "customer.customerNumber"),  # an intake rule
        ({"lines": [{"sku": "GLOVE-WORK", "quantity": "0", "unitPrice": "4.15", "vatRate": "25.5"}]}, "lines[0]"),
        ({"orderNumber": "WEB-2"}, "orderNumber"),  # the outbox: the orderNumber cannot change
    ],
)
def test_correct_refuses_an_invalid_order_and_stores_nothing(
    change: dict[str, Any], named: str, outbox: Outbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """An order that is invalid, cannot become a SalesOrder, or changes the orderNumber: exit 2 naming the
    field; the message stays failed with one version."""
    message_id = message(outbox, "WEB-1", "failed")
    path = tmp_path / "fix.json"
    path.write_text(json.dumps({**order("WEB-1"), **change}))
    assert run("outbox", "correct", message_id, str(path)) == EXIT_USAGE
    assert named in capsys.readouterr().err
    assert _state(outbox, message_id) == "failed" and len(outbox.versions(message_id)) == 1


def test_correct_refuses_a_sent_message(outbox: Outbox, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A sent message is never corrected: exit 2 with the reason; nothing is stored."""
    message_id = message(outbox, "WEB-1", "sent")
    path = tmp_path / "fix.json"
    path.write_text(json.dumps(order("WEB-1", comment="too late")))
    assert run("outbox", "correct", message_id, str(path)) == EXIT_USAGE
    assert "is sent" in capsys.readouterr().err
    assert _state(outbox, message_id) == "sent" and len(outbox.versions(message_id)) == 1


def _accepted(sonet: SonetClient, xml: bytes) -> str:
    """Send `xml` to the stand-in; its Sonet order number."""
    response = sonet.send(xml)
    assert response.status_code == 201, response.text
    return message_answer(response)["SonetOrderNumber"]


def _sent_to_sonet(outbox: Outbox, sonet: SonetClient, number: str, *, as_number: str | None = None) -> str:
    """A message Sonet accepted, recorded as sent with Sonet's order number (or `as_number`)."""
    message_id = message(outbox, number, "sending")
    accepted = _accepted(sonet, _xml_of(outbox, message_id))
    number_recorded = as_number or accepted
    outbox.mark_sent(message_id, sonet_order_number=number_recorded, duplicate=False, actor="run-1", now=_now())
    return message_id


def test_reconcile_exits_0_when_the_outbox_and_sonet_agree(
    outbox: Outbox, sonet: SonetClient, capsys: pytest.CaptureFixture[str]
) -> None:
    """Sent messages Sonet lists with the same numbers, and unsent ones it does not list: no line, exit 0."""
    _sent_to_sonet(outbox, sonet, "WEB-1")
    message(outbox, "WEB-2", "failed")
    message(outbox, "WEB-3", "pending")
    sonet.advance(120)
    assert run("outbox", "reconcile", "--tenant", "acme", "--json") == EXIT_OK
    captured = capsys.readouterr()
    assert captured.out == "" and "agree" in captured.err
    assert run("outbox", "reconcile", "--tenant", "acme") == EXIT_OK
    assert "agree" in capsys.readouterr().out


def test_reconcile_lists_each_kind_of_disagreement_and_exits_1(
    outbox: Outbox, sonet: SonetClient, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each disagreement is one JSON line with its kind: sent but missing (only past the visibility lag),
    in Sonet but not sent, another order number, and a MessageId the outbox does not know; exit 1."""
    ten_minutes_ago = _now() - timedelta(minutes=10)
    missing = message(outbox, "WEB-1", "sent", at=ten_minutes_ago)
    message(outbox, "WEB-2", "sent")  # sent just now: within the lag, not judged
    mismatch = _sent_to_sonet(outbox, sonet, "WEB-3", as_number="SO-OTHER")
    not_sent = message(outbox, "WEB-4", "failed", code="RETRY_EXHAUSTED")
    _accepted(sonet, _xml_of(outbox, not_sent))
    unknown = str(uuid.uuid4())
    _accepted(sonet, _xml(order("WEB-9"), unknown))
    sonet.advance(120)
    assert run("outbox", "reconcile", "--tenant", "acme", "--json") == EXIT_FAILED
    captured = capsys.readouterr()
    lines = _lines(captured.out)
    assert {(line["kind"], line["message_id"]) for line in lines} == {
        ("sent_but_missing_in_sonet", missing),
        ("order_number_mismatch", mismatch),
        ("in_sonet_but_not_sent", not_sent),
        ("unknown_to_outbox", unknown),
    }
    by_kind = {line["kind"]: line for line in lines}
    assert by_kind["sent_but_missing_in_sonet"]["sonet"] is None
    assert by_kind["order_number_mismatch"]["outbox"]["sonet_order_number"] == "SO-OTHER"
    assert by_kind["unknown_to_outbox"]["outbox"] is None
    assert by_kind["unknown_to_outbox"]["sonet"]["web_order_number"] == "WEB-9"
    assert not any(line["settled"] for line in lines)
    assert "1 sent within the visibility lag" in captured.err
    assert _state(outbox, not_sent) == "failed"  # without --settle nothing moves


def test_reconcile_settle_marks_messages_sonet_has_as_sent(
    outbox: Outbox, sonet: SonetClient, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--settle` marks each in_sonet_but_not_sent message sent with Sonet's order number, recorded with
    the CLI actor; once settled they no longer count: exit 0, and the next reconcile finds nothing."""
    lost = message(outbox, "WEB-1", "sending")  # the answer was lost
    number = _accepted(sonet, _xml_of(outbox, lost))
    exhausted = message(outbox, "WEB-2", "failed", code="RETRY_EXHAUSTED")
    other_number = _accepted(sonet, _xml_of(outbox, exhausted))
    sonet.advance(120)
    assert run("outbox", "reconcile", "--tenant", "acme", "--settle", "--json") == EXIT_OK
    lines = _lines(capsys.readouterr().out)
    assert {(line["message_id"], line["kind"], line["settled"]) for line in lines} == {
        (lost, "in_sonet_but_not_sent", True),
        (exhausted, "in_sonet_but_not_sent", True),
    }
    for message_id, sonet_number in ((lost, number), (exhausted, other_number)):
        after = outbox.get(message_id)
        assert after is not None and (after.state, after.sonet_order_number) == ("sent", sonet_number)
        assert outbox.events(message_id)[-1].actor.startswith("cli: outbox reconcile --settle (")
    assert run("outbox", "reconcile", "--tenant", "acme", "--json") == EXIT_OK
    assert capsys.readouterr().out == ""


def test_reconcile_refused_token_is_a_configuration_error(
    sonet: SonetClient, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Sonet refusing the tenant's token exits 2 at once, naming the variable and never the token."""
    monkeypatch.setenv("ACME_SONET_TOKEN", "wrong-token-value")
    assert run("outbox", "reconcile", "--tenant", "acme", "--json") == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == "" and "ACME_SONET_TOKEN" in captured.err and "wrong-token-value" not in captured.err


def test_compare_judges_missing_orders_only_past_the_lag_and_never_settles_another_web_order(
    outbox: Outbox,
) -> None:
    """The pure comparison: a sent message counts as missing only `MISSING_AFTER_SECONDS` after `sent_at`
    (measured from when Sonet was read); Sonet's order with another WebOrderNumber than a pending message
    is a mismatch, not something to settle."""
    read_at = _now()
    sent = outbox.get(message(outbox, "WEB-1", "sent", at=read_at - timedelta(seconds=MISSING_AFTER_SECONDS)))
    pending = outbox.get(message(outbox, "WEB-2", "pending"))
    assert sent is not None and pending is not None
    other_web = SonetOrder(pending.message_id, "SO-7", "WEB-77")
    found = compare("acme", [sent, pending], [other_web], read_at=read_at)
    assert [(d.kind, d.message_id, d.settleable) for d in found.disagreements] == [
        (Kind.SENT_BUT_MISSING, sent.message_id, False),
        (Kind.MISMATCH, pending.message_id, False),
    ]
    later = compare("acme", [sent], [], read_at=read_at - timedelta(milliseconds=1))
    assert later.disagreements == [] and later.too_recent == [sent.message_id]


def test_reconcile_needs_a_configured_tenant(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown tenant is a configuration error: exit 2, the configured ones named."""
    assert run("outbox", "reconcile", "--tenant", "nobody") == EXIT_USAGE
    assert "nobody" in capsys.readouterr().err


def test_show_names_where_the_archived_attempts_are(
    outbox: Outbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`show --json` has `archive`: the message's location (under the data dir by default, under
    `SONET_PIPELINE_S3_URL` in production) and each archived attempt with its outcome and files; the text
    form prints them too; `--version` without `--xml` is refused."""
    import boto3
    from moto import mock_aws

    from sonet_pipeline.archive import open_archive
    from sonet_pipeline.config import settings
    from sonet_pipeline.sonet.message import REJECTED, SendOutcome

    message_id = message(outbox, "WEB-1", "failed")
    assert run("outbox", "show", message_id, "--json") == EXIT_OK
    local = json.loads(capsys.readouterr().out)["archive"]
    assert local == {"location": (settings.data_dir() / "archive" / "acme" / message_id).as_uri(), "attempts": []}

    monkeypatch.setenv("SONET_PIPELINE_S3_URL", "s3://audit/prod")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="audit")
        archive = open_archive("s3://audit/prod", s3_client=lambda: boto3.client("s3", region_name="us-east-1"))
        tenant = archive.for_tenant("acme")
        entry = tenant.entry(message_id, 1, _now(), order_number="WEB-1", order_version=1)
        tenant.record_request(entry, _xml_of(outbox, message_id))
        rejected = SendOutcome(REJECTED, 400, "UNKNOWN_ITEM", "no such item", body=b"<MessageError/>")
        tenant.record_answer(entry, rejected, xml=b"", answered_at=_now())
        assert run("outbox", "show", message_id, "--json") == EXIT_OK
        remote = json.loads(capsys.readouterr().out)["archive"]
        assert run("outbox", "show", message_id) == EXIT_OK
        text = capsys.readouterr().out
    assert remote["location"] == f"s3://audit/prod/archive/acme/{message_id}"
    [attempt] = remote["attempts"]
    assert (attempt["attempt"], attempt["outcome"], attempt["status"], attempt["code"]) == (
        1,
        REJECTED,
        400,
        "UNKNOWN_ITEM",
    )
    assert attempt["request"].startswith(f"s3://audit/prod/archive/acme/{message_id}/001-")
    assert attempt["body"].endswith(".answer.body") and attempt["answer"].endswith(".answer.json")
    assert f"archived attempts: s3://audit/prod/archive/acme/{message_id}" in text and "UNKNOWN_ITEM" in text
    assert run("outbox", "show", message_id, "--version", "1") == EXIT_USAGE


def test_show_still_answers_when_the_archive_cannot_be_read(
    outbox: Outbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An archive that cannot be read (here: its S3 bucket does not exist) leaves `show` working: the
    location is named, `attempts` is null and `error` says why; exit 0."""
    from moto import mock_aws

    message_id = message(outbox, "WEB-1", "failed")
    monkeypatch.setenv("SONET_PIPELINE_S3_URL", "s3://no-such-bucket/prod")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        assert run("outbox", "show", message_id, "--json") == EXIT_OK
    shown = json.loads(capsys.readouterr().out)
    assert shown["state"] == "failed" and shown["archive"]["attempts"] is None
    assert shown["archive"]["location"] == f"s3://no-such-bucket/prod/archive/acme/{message_id}"
    assert "NoSuchBucket" in shown["archive"]["error"]


def test_correct_keeps_the_refused_xml_and_error_in_the_outbox(
    outbox: Outbox, capsysbinary: Any, tmp_path: Path
) -> None:
    """After `correct`, the refused version's XML is still there byte for byte (`show --xml --version 1`)
    with the error that failed it (`show --json` versions[0].refused); the current version has none yet."""
    message_id = message(outbox, "WEB-1", "failed")
    refused_xml = _xml_of(outbox, message_id)
    (tmp_path / "fix.json").write_text(json.dumps(order("WEB-1", comment="fixed")))
    assert run("outbox", "correct", message_id, str(tmp_path / "fix.json")) == EXIT_OK
    capsysbinary.readouterr()
    assert run("outbox", "show", message_id, "--xml", "--version", "1") == EXIT_OK
    assert capsysbinary.readouterr().out == refused_xml
    assert run("outbox", "show", message_id, "--xml", "--version", "2") == EXIT_FAILED  # not built yet
    assert run("outbox", "show", message_id, "--xml", "--version", "3") == EXIT_USAGE
    capsysbinary.readouterr()
    assert run("outbox", "show", message_id, "--json") == EXIT_OK
    refused = json.loads(capsysbinary.readouterr().out)["versions"][0]["refused"]
    assert refused["error"] == {"code": "UNKNOWN_ITEM", "message": "no such item", "field": "Lines/Line[1]/ItemCode"}
    assert (refused["attempts"], refused["xml_bytes"]) == (1, len(refused_xml))
    assert refused["actor"].startswith("cli: outbox correct (")
    [kept] = outbox.refused_versions(message_id)
    assert (kept.version, kept.xml, kept.error and kept.error.code) == (1, refused_xml, "UNKNOWN_ITEM")
    assert run("outbox", "show", message_id) == EXIT_OK
    assert b"refused: UNKNOWN_ITEM: no such item at Lines/Line[1]/ItemCode" in capsysbinary.readouterr().out
