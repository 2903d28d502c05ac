"""`sonet-pipeline shop ...`: publish the shop's files now, and say what a login may do and why (thin).

`publish` asks what the shop sensor asks (which files' inputs changed: `shop/inputs.py`) and runs
the shop job in this process through Dagster (`cli/runs/shop.py`), so the run shows in the UI.
`why` reads the tenant's published `rights.jsonl` (and `logins.jsonl`, `accounts.jsonl`) from its
destination, a folder or S3, exactly as the shop reads them; `price` (`cli/shop_price.py`) answers a
buyer's price from the published files likewise.

Exit codes (conventions.md): 0 done (for `publish` also "nothing to publish"), 1 the run failed, a
shop run is already in progress, the files cannot be read, or (`why`) the e-mail is not a published
login; 2 bad arguments or configuration. `--json` prints one JSON document and nothing else on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from sonet_pipeline.cli.published_files import destination as destination  # the demo's and tests' door
from sonet_pipeline.cli.published_files import published_rows, storage_errors
from sonet_pipeline.cli.shop_price import add_price_command
from sonet_pipeline.common.clock import SystemClock
from sonet_pipeline.config import settings
from sonet_pipeline.config.tenants import Tenant, load_tenants, tenant_by_name
from sonet_pipeline.outbox import open_outbox
from sonet_pipeline.rights.accounts import normalize_email
from sonet_pipeline.shop.publish import read_manifest

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

NOT_A_LOGIN = (
    "not a published login: no ACTIVE customer's contact has it, "
    "or two customers share it (see the logins_unique check)"
)

_DOCS = {
    "publish": "Publish now, through Dagster (the run shows in the UI), the shop files whose inputs changed since "
    "they were published (Sonet records, the outbox, the tenant's shop settings): what the shop sensor would "
    "publish. --all publishes every file (a file whose bytes are the same is not rewritten; the manifest is). "
    "Waits and prints per tenant the files published, their records and whether they changed. Exit 0 when the "
    "run succeeded or nothing was stale, 1 when it failed or a shop run is already in progress.",
    "why": "Show what a login of the tenant may do in the shop, as published in its rights.jsonl: account, "
    "segments, customer types, role, blocked, can see prices, can order, order limit, the rule that decided and "
    "the note. E-mails compare without regard to case. Exit 1 when the e-mail is not a published login.",
}


def add_shop_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `shop` and its subcommands to the top-level subparsers."""
    shop = commands.add_parser("shop", help="publish the web shop's files; explain a login's rights, a buyer's price")
    sub = shop.add_subparsers(title="shop commands", required=True, metavar="COMMAND")

    publish = sub.add_parser(
        "publish", help="publish the stale shop files now, through Dagster", description=_DOCS["publish"]
    )
    publish.add_argument("--tenant", action="append", help="only this tenant (repeatable; default: all)")
    publish.add_argument("--all", dest="everything", action="store_true", help="every file, even those up to date")
    publish.add_argument("--json", action="store_true", help="one JSON document on stdout")
    publish.set_defaults(handler=_publish)

    why = sub.add_parser(
        "why", help="what a login may do in the shop, and the rule that decided", description=_DOCS["why"]
    )
    why.add_argument("--tenant", required=True, help="the tenant")
    why.add_argument("--login", required=True, metavar="EMAIL", help="the login's e-mail (any letter case)")
    why.add_argument("--json", action="store_true", help="one JSON document on stdout")
    why.set_defaults(handler=_why)

    add_price_command(sub)


# -- shared helpers ---------------------------------------------------------------------------------


def _fail(command: str, problem: str, code: int = EXIT_FAILED) -> int:
    print(f"sonet-pipeline shop {command}: {problem}", file=sys.stderr)
    return code


def _selected(names: list[str] | None) -> list[Tenant]:
    tenants = load_tenants()
    return [tenant_by_name(tenants, name) for name in dict.fromkeys(names)] if names else tenants


# -- handlers ---------------------------------------------------------------------------------------


def _publish(args: argparse.Namespace) -> int:
    tenants = _selected(args.tenant)

    from sonet_pipeline.cli.runs.progress_line import shows_progress
    from sonet_pipeline.cli.runs.shop import format_summary, run_shop
    from sonet_pipeline.definitions import build_definitions
    from sonet_pipeline.jobs.cli_runs import prepare_instance
    from sonet_pipeline.jobs.liveness import live_run_of
    from sonet_pipeline.jobs.shop import SHOP_JOB
    from sonet_pipeline.shop.stale import find_stale

    instance = prepare_instance()
    busy = live_run_of(instance, SHOP_JOB)
    if busy is not None:  # two runs publishing one tenant's files would interleave their writes
        status = busy.status.value.lower()
        return _fail("publish", f"shop run {busy.run_id} is still {status}; run this again when it has ended")
    try:
        with open_outbox(settings.postgres_dsn()) as outbox:
            now = SystemClock().now()  # a price come into force makes prices.jsonl stale, as for the sensor
            found = find_stale(tenants, outbox, destination, everything=args.everything, now=now)
    except ValueError as exc:  # a destination that cannot be (no S3 client, a name that is no folder)
        return _fail("publish", str(exc), EXIT_USAGE)
    except storage_errors() as exc:
        return _fail("publish", f"cannot read a published manifest: {exc}")
    progress = sys.stderr if shows_progress(args.json, sys.stdout, sys.stderr) else None
    summary = run_shop(build_definitions(load_tenants()), instance, found, progress=progress)
    print(json.dumps(summary.as_json(), ensure_ascii=False) if args.json else "\n".join(format_summary(summary)))
    return EXIT_OK if summary.success else EXIT_FAILED


def _why(args: argparse.Namespace) -> int:
    tenant = tenant_by_name(load_tenants(), args.tenant)
    wanted = normalize_email(args.login)
    if wanted is None:
        return _fail("why", "--login must be an e-mail, not blank", EXIT_USAGE)
    try:
        where = destination(tenant)
    except ValueError as exc:
        return _fail("why", str(exc), EXIT_USAGE)
    try:
        manifest = read_manifest(where)
        rights = published_rows(where, "rights.jsonl")
        if rights is None:
            return _fail(
                "why",
                f"{tenant.name} has no rights.jsonl at {where.describe()} yet "
                f"(sonet-pipeline shop publish --tenant {tenant.name})",
            )
        row = _find(rights, "login", wanted)
        logins = published_rows(where, "logins.jsonl") or []
        login = _find(logins, "login", wanted)
        reason = None if row is not None else _why_not(wanted, login, lambda: published_rows(where, "accounts.jsonl"))
    except storage_errors() as exc:
        return _fail("why", f"cannot read {tenant.name}'s published files at {where.describe()}: {exc}")
    except ValueError as exc:  # a line that is not JSON
        return _fail("why", f"{tenant.name}'s published files at {where.describe()} are unreadable: {exc}")

    contact = None if login is None else {"contactId": login.get("contactId"), "name": login.get("name")}
    published_at = (manifest or {}).get("publishedAt")
    if args.json:
        document = {
            "tenant": tenant.name,
            "email": args.login,
            "published": row is not None,
            "rights": row,
            "contact": contact if row is not None else None,
            "reason": reason,
            "destination": where.describe(),
            "publishedAt": published_at,
        }
        print(json.dumps(document, ensure_ascii=False))
    if row is None:
        print(f"{wanted} ({tenant.name}): {reason}", file=sys.stderr)
        return EXIT_FAILED
    if not args.json:
        print(
            f"{row.get('login')} ({tenant.name}, published {published_at or 'at an unknown time'} "
            f"to {where.describe()})"
        )
        for label, value in _described(row, contact):
            print(f"  {label + ':':<16}{value}")
    return EXIT_OK


def _find(rows: list[dict[str, Any]], key: str, wanted: str) -> dict[str, Any] | None:
    return next((row for row in rows if normalize_email(row.get(key)) == wanted), None)


def _why_not(wanted: str, login: dict[str, Any] | None, accounts: Callable[[], list[dict[str, Any]] | None]) -> str:
    """Why `wanted` has no rights line, as far as the published files can tell."""
    if login is not None:
        return (
            f"a published login of account {login.get('accountId')}, but rights.jsonl does not list it: the "
            f"rights file is out of date (sonet-pipeline shop publish --all)"
        )
    owner = _find(accounts() or [], "email", wanted)
    if owner is not None:
        return (
            f"{NOT_A_LOGIN}; it is the e-mail of account {owner.get('accountId')} ({owner.get('name')}) "
            f"itself, and logins come from its contacts' e-mails"
        )
    return NOT_A_LOGIN


def _described(row: dict[str, Any], contact: dict[str, Any] | None) -> list[tuple[str, str]]:
    def listed(value: Any) -> str:
        return ", ".join(map(str, value)) if value else "none"

    limit = row.get("orderLimit") or ("no limit" if row.get("canOrder") else "-")
    described = [("account", f"{row.get('accountId')} ({row.get('accountName') or 'no name'})")]
    if contact is not None:
        described.append(("contact", f"{contact.get('name') or 'no name'} ({contact.get('contactId')})"))
    return [
        *described,
        ("segments", listed(row.get("segments"))),
        ("customer types", listed(row.get("customerTypes"))),
        ("role", row.get("role") or "none"),
        ("blocked", _yes_no(row.get("orderBlocked"))),
        ("can see prices", _yes_no(row.get("canSeePrices"))),
        ("can order", _yes_no(row.get("canOrder"))),
        ("order limit", str(limit)),
        ("rule", str(row.get("rule"))),
        ("note", row.get("note") or "-"),
    ]


def _yes_no(value: Any) -> str:
    return "yes" if value is True else "no"
