"""`sonet-pipeline outbox ...`: look into the outbox and repair it (thin: parse, call the outbox, print).

The outbox is PostgreSQL when `SONET_PIPELINE_POSTGRES_DSN` is set, else SQLite under the data dir.
Exit codes (conventions.md): 0 done (for `reconcile`: the outbox and Sonet agree), 1 `reconcile`
found disagreements or could not read Sonet, 2 bad arguments: an unknown message, a move the outbox
refuses (nothing moved), an invalid order file, and for `reconcile` a token Sonet refuses (a
configuration error, as everywhere in the CLI). `--json` prints one document (`status`, `show`,
`correct`) or JSON Lines (`list`, `resend`, `reconcile`) and nothing else on stdout.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sonet_pipeline.archive import TenantArchive, open_archive
from sonet_pipeline.cli.aws_clients import s3_client, secrets_client
from sonet_pipeline.config import settings
from sonet_pipeline.config.tenants import load_tenants, tenant_by_name
from sonet_pipeline.intake.payload import BadPayload, judge_order, parse_json
from sonet_pipeline.orders.sales_order_xml import UNMAPPABLE, Unmappable, build_sales_order
from sonet_pipeline.orders.validation import OrderProblem
from sonet_pipeline.outbound.reconcile import compare, read_sonet_orders, settle
from sonet_pipeline.outbox import (
    Message,
    Outbox,
    OutboxError,
    RefusedVersion,
    Selection,
    State,
    open_outbox,
    to_json,
)
from sonet_pipeline.outbox.model import format_instant
from sonet_pipeline.sonet.clients import QUERY_API, SonetAccess, query_client
from sonet_pipeline.sonet.query_errors import SonetAuthError, SonetQueryError
from sonet_pipeline.sonet.retry import RetryPolicy

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

#: Someone waits at a terminal: give up on an unavailable Sonet after two minutes, not the sync's ten.
CLI_RETRY = RetryPolicy(give_up_after_seconds=120.0)

_DOCS = {
    "status": "Count each tenant's messages per state (every configured tenant) and the age of the oldest pending.",
    "list": "List messages, oldest first. --json: JSON Lines, one message each.",
    "show": "Show one message: its state, its web order's versions (a corrected one with the SalesOrder XML it "
    "was sent as and the error that failed it), every move (when, from, to, who, why) and where its archived "
    "attempts are (each request as sent and Sonet's answer). --xml prints its SalesOrder XML exactly as stored "
    "(and sent); with --version N that of an earlier, corrected version. Exit 2 for an unknown message id.",
    "resend": "Put failed messages back to pending, to go with the next send run as the same bytes. All or "
    "nothing: a selected message that is not failed (a sent one above all) refuses the lot, exit 2.",
    "correct": "Replace a failed message's web order by the order in FILE (JSON; - reads stdin), keeping "
    "earlier versions with the SalesOrder XML they were sent as and the error that failed them (outbox show "
    "lists them), and put it back to pending: its SalesOrder is rebuilt under the same MessageId. The "
    "order must be valid and keep its orderNumber; an invalid one is refused (exit 2) and nothing is stored.",
    "reconcile": "Compare the tenant's messages with Sonet's salesOrders list and list every order on which "
    "they disagree (kinds: sent_but_missing_in_sonet, in_sonet_but_not_sent, order_number_mismatch, "
    "unknown_to_outbox). --settle marks in_sonet_but_not_sent messages sent with Sonet's order number. Exit 0 "
    "when they agree, 1 when disagreements remain or Sonet could not be read, 2 when Sonet refuses the "
    "tenant's token (a configuration error).",
}


def add_outbox_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `outbox` and its subcommands to the top-level subparsers."""
    outbox = commands.add_parser("outbox", help="inspect and repair the outbox of orders to Sonet")
    sub = outbox.add_subparsers(title="outbox commands", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=_DOCS[name])

    status = command("status", "count messages per tenant and state")
    _json_flag(status, "one JSON document on stdout")
    status.set_defaults(handler=_status)

    listing = command("list", "list messages")
    listing.add_argument("--tenant", help="only this tenant's messages")
    listing.add_argument("--state", choices=[str(s) for s in State], help="only messages in this state")
    listing.add_argument("--code", metavar="C", help="only messages with this error code (e.g. UNKNOWN_ITEM)")
    listing.add_argument("--limit", type=_positive, metavar="N", help="at most N messages (the oldest)")
    _json_flag(listing, "JSON Lines on stdout, one message each")
    listing.set_defaults(handler=_list)

    show = command("show", "show one message, its versions and its moves")
    show.add_argument("message_id", metavar="MESSAGE_ID")
    shown_as = show.add_mutually_exclusive_group()
    _json_flag(shown_as, "one JSON document on stdout")
    shown_as.add_argument("--xml", action="store_true", help="print the stored SalesOrder XML, byte for byte")
    show.add_argument(
        "--version", type=_positive, metavar="N", help="with --xml: the XML that order version N was sent as"
    )
    show.set_defaults(handler=_show)

    resend = command("resend", "put failed messages back to pending")
    which = resend.add_mutually_exclusive_group(required=True)
    which.add_argument("--message-id", action="append", metavar="ID", help="this message (repeatable)")
    which.add_argument(
        "--order-number",
        action="append",
        metavar="N",
        help="the message of this web order number of --tenant (repeatable)",
    )
    which.add_argument("--failed-with", metavar="CODE", help="every failed message with this error code")
    resend.add_argument("--tenant", help="the tenant of --order-number; narrows --failed-with")
    _json_flag(resend, "JSON Lines on stdout, one moved message each")
    resend.set_defaults(handler=_resend)

    correct = command("correct", "replace a failed message's web order and put it back to pending")
    correct.add_argument("message_id", metavar="MESSAGE_ID")
    correct.add_argument("file", metavar="FILE", help="the corrected web-shop order as JSON (- for stdin)")
    _json_flag(correct, "one JSON document on stdout: the message after the correction")
    correct.set_defaults(handler=_correct)

    reconcile = command("reconcile", "compare the outbox with Sonet's sales orders")
    reconcile.add_argument("--tenant", required=True, help="the tenant (its Sonet company is read)")
    reconcile.add_argument("--settle", action="store_true", help="mark in_sonet_but_not_sent messages sent")
    _json_flag(reconcile, "JSON Lines on stdout, one disagreement each")
    reconcile.set_defaults(handler=_reconcile)


def _json_flag(parser: argparse.ArgumentParser | argparse._MutuallyExclusiveGroup, help_text: str) -> None:
    parser.add_argument("--json", action="store_true", help=help_text)


def _positive(text: str) -> int:
    if not text.isdecimal() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return int(text)


# -- shared helpers ---------------------------------------------------------------------------------


def open_cli_outbox() -> Outbox:
    """The outbox the other processes use: PostgreSQL when a DSN is set, else the SQLite file."""
    return open_outbox(settings.postgres_dsn())


def actor(command_name: str) -> str:
    """`cli: outbox resend (alice)`: the command and who ran it, recorded with each move."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        user = "unknown user"
    return f"cli: outbox {command_name} ({user})"


def now() -> datetime:
    return datetime.now(UTC)


def usage_error(command_name: str, problem: str) -> int:
    print(f"sonet-pipeline outbox {command_name}: {problem}", file=sys.stderr)
    return EXIT_USAGE


def print_json(document: Any) -> None:
    print(json.dumps(document, ensure_ascii=False))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [list(headers), *[["-" if value is None else str(value) for value in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


# -- handlers ---------------------------------------------------------------------------------------


def _status(args: argparse.Namespace) -> int:
    names = [tenant.name for tenant in load_tenants()]
    with open_cli_outbox() as outbox:
        report = outbox.status(now(), tenants=names)
    if args.json:
        print_json(report)
        return EXIT_OK
    rows = [
        [name, c["pending"], c["sending"], c["sent"], c["failed"], _age(c["oldest_pending_age_seconds"])]
        for name, c in report["tenants"].items()
    ]
    print_table(["TENANT", "PENDING", "SENDING", "SENT", "FAILED", "OLDEST PENDING"], rows)
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    with open_cli_outbox() as outbox:
        messages = outbox.list(tenant=args.tenant, state=args.state, code=args.code, limit=args.limit)
    if args.json:
        for message in messages:
            print_json(to_json(message))
        return EXIT_OK
    _print_messages(messages)
    print(f"{len(messages)} message(s)", file=sys.stderr)
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    if args.version is not None and not args.xml:
        return usage_error("show", "--version goes with --xml (the XML an earlier order version was sent as)")
    with open_cli_outbox() as outbox:
        message = outbox.get(args.message_id)
        if message is None:
            return usage_error("show", f"no message {args.message_id!r} in the outbox")
        events, versions = outbox.events(message.message_id), outbox.versions(message.message_id)
        refused = {r.version: r for r in outbox.refused_versions(message.message_id)}
    if args.xml:
        return _print_xml(message, refused, args.version)
    moves = [
        {
            "at": format_instant(e.at),
            "from": e.from_state and str(e.from_state),
            "to": str(e.to_state),
            "actor": e.actor,
            "reason": e.reason,
        }
        for e in events
    ]
    numbered = [
        {"version": number, "order": order, "refused": _refused_json(refused.get(number))}
        for number, order in enumerate(versions, start=1)
    ]
    archived = _archived(message)
    if args.json:
        document = {**to_json(message), "order": message.order, "events": moves, "versions": numbered}
        print_json({**document, "archive": archived})
        return EXIT_OK
    for key, value in to_json(message).items():
        if key == "error" and (error := message.error):
            value = _error_text(error.code, error.message, error.field)
        print(f"{key}: {'-' if value is None else value}")
    print(f"xml: {'stored, ' + str(len(message.xml)) + ' bytes (--xml prints it)' if message.xml else 'not built'}")
    print("\nevents:")
    print_table(["AT", "FROM", "TO", "ACTOR", "REASON"], [list(m.values()) for m in moves])
    print("\nweb order versions (the last is current):")
    for number, order in enumerate(versions, start=1):
        print(f"{number}: {json.dumps(order, ensure_ascii=False)}")
        if (kept := refused.get(number)) is not None:
            xml = f"{len(kept.xml)} bytes (--xml --version {kept.version})" if kept.xml else "never built"
            failure = _error_text(kept.error.code, kept.error.message, kept.error.field) if kept.error else "-"
            print(f"   refused: {failure}; after {kept.attempts} attempt(s); XML {xml}; corrected by {kept.actor}")
    print(f"\narchived attempts: {archived['location']}")
    if archived["attempts"] is None:
        print(f"   not readable: {archived['error']}")
    elif not archived["attempts"]:
        print("   none")
    else:
        rows = [[a["attempt"], a["sent_at"], a["outcome"], a["status"], a["code"]] for a in archived["attempts"]]
        print_table(["ATTEMPT", "SENT", "OUTCOME", "STATUS", "CODE"], rows)
    return EXIT_OK


def _print_xml(message: Message, refused: dict[int, RefusedVersion], version: int | None) -> int:
    """The current XML, or that order version `version` was sent as, byte for byte."""
    if version is None or version == message.version:
        xml, missing = (
            message.xml,
            f"message {message.message_id} has no SalesOrder XML yet (it is built when first sent)",
        )
    elif version in refused:
        xml, missing = refused[version].xml, f"order version {version} of {message.message_id} was never built"
    else:
        kept = ", ".join(map(str, [*sorted(refused), message.version]))
        return usage_error("show", f"message {message.message_id} keeps no XML of version {version} (kept: {kept})")
    if xml is None:
        print(f"sonet-pipeline outbox show: {missing}", file=sys.stderr)
        return EXIT_FAILED
    sys.stdout.flush()
    sys.stdout.buffer.write(xml)
    sys.stdout.buffer.flush()
    return EXIT_OK


def _error_text(code: str, message: str, field: str | None) -> str:
    return f"{code}: {message}" + (f" at {field}" if field else "")


def _refused_json(refused: RefusedVersion | None) -> dict[str, Any] | None:
    """A corrected version's XML (size, SHA-256) and the error that failed it; None for one never corrected."""
    if refused is None:
        return None
    error = refused.error
    return {
        "error": {"code": error.code, "message": error.message, "field": error.field} if error else None,
        "attempts": refused.attempts,
        "failed_at": format_instant(refused.failed_at),
        "corrected_at": format_instant(refused.corrected_at),
        "actor": refused.actor,
        "xml_bytes": len(refused.xml) if refused.xml is not None else None,
        "xml_sha256": hashlib.sha256(refused.xml).hexdigest() if refused.xml is not None else None,
    }


def open_cli_archive(tenant: str) -> TenantArchive:
    """The tenant's audit archive where the send runs write it: under `SONET_PIPELINE_S3_URL`, else the data dir."""
    return open_archive(settings.s3_url(), s3_client=s3_client).for_tenant(tenant)


def _archived(message: Message) -> dict[str, Any]:
    """`archive` of `show --json`: where the message's attempts are and each attempt; when the archive
    cannot be read, `attempts` is null and `error` says why (the rest of `show` does not depend on it)."""
    try:
        archive = open_cli_archive(message.tenant)
        location = archive.location(message.message_id)
    except Exception as error:
        return {"location": None, "attempts": None, "error": f"{type(error).__name__}: {error}"[:300]}
    try:
        attempts = [attempt.to_json() for attempt in archive.list(message.message_id)]
    except Exception as error:
        return {"location": location, "attempts": None, "error": f"{type(error).__name__}: {error}"[:300]}
    return {"location": location, "attempts": attempts}


def _resend(args: argparse.Namespace) -> int:
    if args.order_number and not args.tenant:
        return usage_error("resend", "--order-number needs --tenant (order numbers are per tenant)")
    if args.message_id and args.tenant:
        return usage_error("resend", "--tenant goes with --order-number or --failed-with, not --message-id")
    if args.message_id:
        selection = Selection.ids(*args.message_id)
    elif args.order_number:
        selection = Selection.orders(args.tenant, *args.order_number)
    else:
        selection = Selection.failed_with(args.failed_with, args.tenant)
    with open_cli_outbox() as outbox:
        try:
            moved = outbox.resend(selection, actor=actor("resend"), now=now())
        except OutboxError as refused:
            return usage_error("resend", f"{refused}; nothing was moved")
        messages = [m for m in map(outbox.get, moved) if m is not None]
    if args.json:
        for message in messages:
            print_json(to_json(message))
    elif messages:
        print(f"back to pending, to go with the next send run ({len(messages)}):")
        _print_messages(messages)
    else:
        where = f" of tenant {args.tenant}" if args.tenant else ""
        print(f"no failed message with code {args.failed_with}{where}: nothing to resend")
    return EXIT_OK


def _correct(args: argparse.Namespace) -> int:
    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
        order = parse_json(raw)
    except OSError as exc:
        return usage_error("correct", f"cannot read {args.file}: {exc.strerror or exc}")
    except BadPayload as exc:
        return usage_error("correct", f"{args.file}: {exc}")
    with open_cli_outbox() as outbox:
        message = outbox.get(args.message_id)
        if message is None:
            return usage_error("correct", f"no message {args.message_id!r} in the outbox")
        problems = judge_order(order) or _unmappable(order, message)
        for problem in problems:
            where = problem.field or "(the order)"
            print(f"sonet-pipeline outbox correct: {where}: {problem.code}: {problem.message}", file=sys.stderr)
        if problems:
            return usage_error("correct", f"{args.file} is refused; nothing was stored")
        try:
            corrected = outbox.correct(message.message_id, order, actor=actor("correct"), now=now())
        except OutboxError as refused:
            return usage_error("correct", f"{refused}; nothing was stored")
    if args.json:
        print_json(to_json(corrected))
    else:
        print(
            f"message {corrected.message_id}: order {corrected.order_number} is now version {corrected.version}, "
            f"{corrected.state}; the next send run builds its SalesOrder under the same MessageId; version "
            f"{message.version}'s XML and the error that failed it are kept (outbox show)"
        )
    return EXIT_OK


def _unmappable(order: Any, message: Message) -> list[OrderProblem]:
    """Why the corrected order still cannot become a SalesOrder (a quantity of 0, a code with a space).
    Size is left to the send run, which knows the items' variant attributes."""
    built = build_sales_order(order, message_id=message.message_id, variant_attributes=lambda sku: None)
    if isinstance(built, Unmappable) and built.code == UNMAPPABLE:
        return [OrderProblem(built.code, built.message, built.field)]
    return []


def _reconcile(args: argparse.Namespace) -> int:
    tenant = tenant_by_name(load_tenants(), args.tenant)
    read_at = now()
    try:
        with query_client(SonetAccess.of(tenant, QUERY_API, secrets=secrets_client), retry=CLI_RETRY) as client:
            listed = read_sonet_orders(client)
    except SonetQueryError as exc:
        print(f"sonet-pipeline outbox reconcile: cannot read Sonet's sales orders: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, SonetAuthError) else EXIT_FAILED
    with open_cli_outbox() as outbox:
        found = compare(tenant.name, outbox.list(tenant=tenant.name), listed, read_at=read_at)
        settled, refusals = set[str](), list[str]()
        if args.settle:
            settled, refusals = settle(outbox, found.disagreements, actor=actor("reconcile --settle"), now=now)
    for refusal in refusals:
        print(f"sonet-pipeline outbox reconcile: not settled: {refusal}", file=sys.stderr)
    if args.json:
        for disagreement in found.disagreements:
            print_json(disagreement.to_json(settled=disagreement.message_id in settled))
    elif found.disagreements:
        rows = [[d.kind, d.message_id, d.order_number, d.detail] for d in found.disagreements]
        headers = ["KIND", "MESSAGE ID", "ORDER", "DETAIL"]
        if args.settle:
            headers, rows = [*headers, "SETTLED"], [[*r, "yes" if r[1] in settled else "no"] for r in rows]
        print_table(headers, rows)
    remaining = len(found.disagreements) - len(settled)
    summary = (
        f"{tenant.name}: {found.messages} message(s), {found.sonet_orders} Sonet order(s): "
        + (f"{remaining} disagreement(s)" if remaining else "the outbox and Sonet agree")
        + (f", {len(settled)} settled" if settled else "")
        + (f"; {len(found.too_recent)} sent within the visibility lag, not judged yet" if found.too_recent else "")
    )
    print(summary, file=sys.stderr if args.json else sys.stdout)
    return EXIT_FAILED if remaining else EXIT_OK


def _print_messages(messages: Sequence[Message]) -> None:
    rows = [
        [
            m.message_id,
            m.tenant,
            m.order_number,
            m.state,
            m.attempts,
            m.error.code if m.error else None,
            format_instant(m.updated_at),
        ]
        for m in messages
    ]
    print_table(["MESSAGE ID", "TENANT", "ORDER", "STATE", "ATTEMPTS", "ERROR", "UPDATED"], rows)


def _age(seconds: float | None) -> str | None:
    return None if seconds is None else f"{seconds:.0f} s"
