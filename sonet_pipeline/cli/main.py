"""The `sonet-pipeline` command: thin; every subcommand delegates to the package.

Exit codes (../shared/conventions.md): 0 success, 1 a failed run or a finding, 2 bad arguments or
configuration. `--json` output goes to stdout alone; progress and logs go to stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from sonet_pipeline import __version__
from sonet_pipeline.cli.aws_clients import secrets_client
from sonet_pipeline.cli.demo_command import add_demo_command
from sonet_pipeline.cli.outbox import add_outbox_commands
from sonet_pipeline.cli.retention import add_retention_command
from sonet_pipeline.cli.runs.tenant_leases import DEFAULT_WAIT_SECONDS, TenantBusy
from sonet_pipeline.cli.shop import add_shop_commands
from sonet_pipeline.cli.worker import add_worker_command
from sonet_pipeline.common.cli_types import instant, non_negative_seconds
from sonet_pipeline.config import settings
from sonet_pipeline.config.secrets import TokenUnavailable, resolve_token
from sonet_pipeline.config.tenants import Tenant, TenantConfigError, load_tenants, tenant_by_name
from sonet_pipeline.sonet.entities import SYNCED

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except TenantConfigError as exc:
        print(f"sonet-pipeline: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    from sonet_pipeline.standin import cli_args as standin_args

    parser = argparse.ArgumentParser(
        prog="sonet-pipeline", description="Sonet ERP <-> AI Commerce web shop integration (a Dagster code location)."
    )
    parser.add_argument("--version", action="version", version=f"sonet-pipeline {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    add_demo_command(commands)

    standin = commands.add_parser(
        "standin", help="run the Sonet stand-in server", description="Serve a fake Sonet that keeps the contract."
    )
    standin_args.add_arguments(standin)
    standin.set_defaults(handler=standin_args.run)

    sync = commands.add_parser("sync", help="run the Sonet sync now, through Dagster", description=_doc("sync"))
    sync.add_argument("--tenant", action="append", help="only this tenant (repeatable; default: all)")
    sync.add_argument("--from", dest="window_from", type=instant, metavar="TS", help="window start (ISO-8601, offset)")
    sync.add_argument("--to", dest="window_to", type=instant, metavar="TS", help="window end (exclusive)")
    sync.add_argument("--full", action="store_true", help="read everything again (the reconciliation)")
    sync.add_argument("--json", action="store_true", help="one JSON document on stdout")
    _add_wait_argument(sync, "holds a tenant's store (the daemon's sync, another command's)")
    sync.set_defaults(handler=_sync)

    send = commands.add_parser(
        "send", help="release due orders to Sonet now (through Dagster)", description=_doc("send")
    )
    send.add_argument("--tenant", action="append", help="only this tenant (repeatable; default: all)")
    send.add_argument("--json", action="store_true", help="one JSON document on stdout")
    _add_wait_argument(send, "sends for a tenant (the order sensor's send run, another command's)")
    send.set_defaults(handler=_send)

    intake = commands.add_parser("intake", help="serve the web-shop order intake over HTTP", description=_doc("intake"))
    intake.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    intake.add_argument("--port", type=int, default=8780, help="port to listen on (default: %(default)s)")
    intake.set_defaults(handler=_intake)

    orders = commands.add_parser("orders", help="web-shop orders")
    order_commands = orders.add_subparsers(title="order commands", required=True, metavar="COMMAND")
    enqueue = order_commands.add_parser(
        "enqueue", help="store orders from a file in the outbox", description=_doc("enqueue")
    )
    enqueue.add_argument("file", help="one JSON object, a JSON array, or JSON Lines")
    enqueue.add_argument("--tenant", required=True, help="the tenant the orders belong to")
    enqueue.add_argument("--json", action="store_true", help="JSON Lines on stdout, one per order")
    enqueue.set_defaults(handler=_orders_enqueue)

    store = commands.add_parser("store", help="read the local store")
    store_commands = store.add_subparsers(title="store commands", required=True, metavar="COMMAND")
    dump = store_commands.add_parser("dump", help="print a tenant's records as JSON Lines", description=_doc("dump"))
    dump.add_argument("--tenant", required=True, help="the tenant")
    dump.add_argument("--entity", required=True, choices=list(SYNCED), help="which records")
    dump.set_defaults(handler=_store_dump)

    add_outbox_commands(commands)
    add_retention_command(commands)
    add_shop_commands(commands)
    add_worker_command(commands)

    tenants = commands.add_parser("tenants", help="inspect the tenants configuration")
    tenant_commands = tenants.add_subparsers(title="tenant commands", required=True, metavar="COMMAND")
    check = tenant_commands.add_parser(
        "check", help="validate the tenants file and report missing secrets", description=_doc("tenants check")
    )
    check.add_argument("--json", action="store_true", help="one JSON document on stdout")
    check.set_defaults(handler=_tenants_check)
    return parser


def _add_wait_argument(parser: argparse.ArgumentParser, while_: str) -> None:
    parser.add_argument(
        "--wait",
        type=non_negative_seconds,
        default=DEFAULT_WAIT_SECONDS,
        metavar="SECONDS",
        help=f"while another run {while_}, wait up to this long, then exit 1 saying the tenant is busy "
        "(default: %(default)s)",
    )


def _doc(command: str) -> str:
    return {
        "sync": "Run the sync job now through Dagster (the run shows in the UI), wait for it and print a summary. "
        "On an empty store: the initial load, then the current window; after that: from the high-water mark "
        "(minus the lookback) to now. --from/--to re-read exactly that window (plus the lookback). "
        "While another run holds a tenant's store (the daemon's sync), waits up to --wait seconds for it. "
        "Exit 0 when the run succeeded, 1 when it failed or a tenant stayed busy (no run is started then), "
        "2 for bad arguments.",
        "send": "Run the send job now through Dagster (the run shows in the UI): due messages are built, "
        "validated and sent within each tenant's Message API limits. Waits and prints a summary. Messages that end "
        "failed are data: exit 0 when the run succeeded, 1 when it failed (e.g. Sonet refused the credentials) or "
        "when another run kept sending for a tenant for longer than --wait seconds (no run is started then).",
        "intake": "Serve POST /tenants/{tenant}/orders (and /orders/batch): each valid order is committed to the "
        "outbox before the answer (202 new, 200 the same again, 409 same orderNumber with other content). The "
        "bearer token comes from the env var the tenant's intake_token_env names, or the AWS Secrets Manager secret "
        "its intake_token_secret names (read with AWS_REGION and the usual credentials, kept 5 minutes). OpenAPI "
        "at /openapi.json.",
        "enqueue": "Store the orders of FILE in the outbox, each judged alone as at the intake. Refused orders "
        "(invalid) and conflicts (same orderNumber, other content) are not stored and are reported on stderr with "
        "their line or index; the exit code is then 1. Orders that cannot become a SalesOrder are stored and fail "
        "later as UNMAPPABLE.",
        "dump": "Print the store's latest state, one record per key, DELETED and PASSIVE included, with the "
        "field names and value formats of schema.graphql. Reads the snapshot the last sync published (under the "
        "data dir, or in PostgreSQL when SONET_PIPELINE_POSTGRES_DSN is set).",
        "tenants check": "Load the tenants file (SONET_PIPELINE_TENANTS, default the demo tenants), validate every "
        "tenant, and say which token variables are unset and which AWS Secrets Manager secrets cannot be read "
        "(never a value). Exit 0 when all is well, 2 otherwise.",
    }[command]


def _selected_tenants(names: list[str] | None) -> list[Tenant]:
    tenants = load_tenants()
    return [tenant_by_name(tenants, name) for name in names] if names else tenants


def _require_sonet_tokens(tenants: list[Tenant]) -> None:
    """A tenant whose Sonet token variable is unset is a configuration error (exit 2), named here before
    a run starts, not a traceback from inside it. A Secrets Manager token is read by the run itself."""
    for tenant in tenants:
        source = tenant.sonet_token_source()
        if source.env is not None and not os.environ.get(source.env):
            raise TenantConfigError(f"{source.what}: {source.describe()} is not set")


def _sync(args: argparse.Namespace) -> int:
    if (args.window_from is None) != (args.window_to is None):
        print("sonet-pipeline sync: --from and --to go together", file=sys.stderr)
        return EXIT_USAGE
    window = None if args.window_from is None else (args.window_from, args.window_to)
    if window is not None and (args.full or window[0] >= window[1]):
        problem = "--full reads everything: leave out --from/--to" if args.full else "--from must be before --to"
        print(f"sonet-pipeline sync: {problem}", file=sys.stderr)
        return EXIT_USAGE
    tenants = _selected_tenants(args.tenant)
    _require_sonet_tokens(tenants)

    from sonet_pipeline.cli.runs.sync import format_summary, run_sync
    from sonet_pipeline.definitions import build_definitions
    from sonet_pipeline.jobs.cli_runs import prepare_instance

    defs, instance = build_definitions(load_tenants()), prepare_instance()
    try:
        summary = run_sync(
            defs,
            instance,
            tenants,
            window=window,
            full=args.full,
            wait_seconds=args.wait,
            progress=_progress_stream(args.json),
        )
    except TenantBusy as busy:
        return _busy("sync", busy, as_json=args.json)
    if args.json:
        print(json.dumps(summary.as_json()))
    else:
        print("\n".join(format_summary(summary)))
    return EXIT_OK if summary.success else EXIT_FAILED


def _send(args: argparse.Namespace) -> int:
    tenants = _selected_tenants(args.tenant)
    _require_sonet_tokens(tenants)

    from sonet_pipeline.cli.runs.send import format_summary, run_send
    from sonet_pipeline.definitions import build_definitions
    from sonet_pipeline.jobs.cli_runs import prepare_instance

    defs, instance = build_definitions(load_tenants()), prepare_instance()
    try:
        summary = run_send(defs, instance, tenants, wait_seconds=args.wait, progress=_progress_stream(args.json))
    except TenantBusy as busy:
        return _busy("send", busy, as_json=args.json)
    print(json.dumps(summary.as_json()) if args.json else "\n".join(format_summary(summary)))
    return EXIT_OK if summary.success else EXIT_FAILED


def _progress_stream(as_json: bool) -> TextIO | None:
    """stderr, where a run's progress is drawn, when there is a person at a terminal to see it (never
    under `--json` or when the output goes to a pipe or a file: scripts read what they always read)."""
    from sonet_pipeline.cli.runs.progress_line import shows_progress

    return sys.stderr if shows_progress(as_json, sys.stdout, sys.stderr) else None


def _busy(command: str, busy: TenantBusy, *, as_json: bool) -> int:
    """A tenant another run held for longer than `--wait`: said on stderr (and as the run summary's JSON,
    with no run), exit 1."""
    print(f"sonet-pipeline {command}: {busy}", file=sys.stderr)
    if as_json:
        print(
            json.dumps({"run_id": None, "success": False, "tenants": {}, "failures": [str(busy)], "busy": busy.tenant})
        )
    return EXIT_FAILED


def _intake(args: argparse.Namespace) -> int:
    from sonet_pipeline.intake.server import serve

    load_tenants()  # a broken tenants file fails here, before the port opens
    print(f"intake on http://{args.host}:{args.port} (OpenAPI at /openapi.json)", flush=True)
    serve(args.host, args.port, secrets=secrets_client)
    return EXIT_OK


def _orders_enqueue(args: argparse.Namespace) -> int:
    from sonet_pipeline.intake.enqueue_file import EnqueueFileError, enqueue_file
    from sonet_pipeline.outbox import open_outbox

    tenant = tenant_by_name(load_tenants(), args.tenant)
    with open_outbox(settings.postgres_dsn()) as outbox:
        try:
            report = enqueue_file(args.file, tenant=tenant, outbox=outbox)
        except EnqueueFileError as exc:
            print(f"sonet-pipeline orders enqueue: {exc}", file=sys.stderr)
            return EXIT_USAGE
    for order in report.orders:
        if args.json:
            error = None if order.error is None else dataclasses.asdict(order.error)
            print(
                json.dumps(
                    {
                        "position": order.position,
                        "order_number": order.order_number,
                        "outcome": order.outcome,
                        "message_id": order.message_id,
                        "state": order.state,
                        "error": error,
                        "price_mismatches": order.price_mismatches,
                    }
                )
            )
        if order.outcome in ("refused", "conflict", "kept_failed") or order.price_mismatches:
            print(order.describe(), file=sys.stderr)
    counts = ", ".join(f"{n} {outcome}" for outcome, n in report.counts.items())
    print(f"{report.path}: {counts}", file=sys.stderr if args.json else sys.stdout)
    return report.exit_code


def _store_dump(args: argparse.Namespace) -> int:
    from sonet_pipeline.store import open_snapshot

    tenant = tenant_by_name(load_tenants(), args.tenant)
    snapshot = open_snapshot(tenant.name)  # the data dir's, or production's in PostgreSQL
    if snapshot.manifest() is None:
        print(f"sonet-pipeline store dump: no sync has published {tenant.name}'s store yet", file=sys.stderr)
    out = sys.stdout
    for record in snapshot.records(args.entity):
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return EXIT_OK


def _tenants_check(args: argparse.Namespace) -> int:
    path = settings.tenants_path()
    tenants = load_tenants(path)
    report: dict[str, Any] = {
        "file": str(path),
        "tenants": [
            {
                "name": t.name,
                "company": t.sonet.company,
                "base_url": t.sonet.base_url,
                **_token_report(t),
            }
            for t in tenants
        ],
    }
    missing = [m for t in report["tenants"] for m in t["missing_secrets"]]
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{len(tenants)} tenant(s) in {path}")
        for t in report["tenants"]:
            unset = ", ".join(t["missing_secrets"]) or "none"
            print(f"  {t['name']}: company {t['company']} at {t['base_url']}; unset secrets: {unset}")
            for problem in t["token_problems"]:
                print(f"    {problem}")
    return EXIT_USAGE if missing else EXIT_OK


def _token_report(tenant: Tenant) -> dict[str, list[str]]:
    """The tenant's tokens that cannot be read: `missing_secrets` names each variable or secret (ARN or
    name), `token_problems` says why. Secrets are read from AWS Secrets Manager; no value is shown."""
    missing: list[str] = []
    problems: list[str] = []
    for source in (tenant.sonet_token_source(), tenant.intake_token_source()):
        if source is None:
            continue
        try:
            resolve_token(source, secrets=secrets_client)
        except TokenUnavailable as exc:
            missing.append(source.secret.id if source.secret is not None else str(source.env))
            problems.append(str(exc))
    return {"missing_secrets": missing, "token_problems": problems}
