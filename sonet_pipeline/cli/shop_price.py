"""`sonet-pipeline shop price`: a buyer's price of one sku, as the shop shows it, and what decided it.

Everything comes from the tenant's published files, as the web shop reads them: the account's price
list from `accounts.jsonl`, the sku from `catalogue.jsonl`, the lines from `prices.jsonl`, priced by
the contract's rule (`shop/buyer_price.py`). A sku the catalogue does not sell is answered "not
sold" when the synced snapshot knows the item (saying why), and is an unknown sku otherwise.

Exit codes (conventions.md): 0 answered (a line's price, the list price, price on request or not
sold); 1 an unknown account or sku, a configurable product's sku, or files missing or unreadable;
2 bad arguments (`--quantity`, `--at`) or configuration (an unknown tenant). `--json` prints one JSON
document and nothing else on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sonet_pipeline.cli.published_files import destination, published_rows, storage_errors
from sonet_pipeline.common.cli_types import instant
from sonet_pipeline.common.clock import SystemClock
from sonet_pipeline.config.tenants import load_tenants, tenant_by_name
from sonet_pipeline.prices.lines import instant_text
from sonet_pipeline.shop.buyer_price import Answer, buyer_price, sold_skus
from sonet_pipeline.shop.publish import Destination, read_manifest

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

DOC = (
    "Show the price a buyer (a published account) pays for a sku of the published catalogue at a quantity and "
    "instant, as the shop shows it: from the account's price list in prices.jsonl (the line with the greatest "
    "quantity break not above the quantity, valid at the instant), else the item's list price, else price on "
    "request; a sku the shop does not sell is 'not sold'. Prints the price, its currency and the line that "
    "decided. The published prices cover the instants from their publish to the tenant's horizon "
    "(shop.price_horizon_days). Exit 1 for an unknown account or sku, 2 for a bad quantity or instant."
)


def positive_quantity(text: str) -> Decimal:
    """An order quantity: a finite decimal greater than 0; argparse names the flag when it is not one."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value.is_finite() or value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0: {text!r}")
    return value


def add_price_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    price = sub.add_parser("price", help="a buyer's price of a sku, and the line that decided", description=DOC)
    price.add_argument("--tenant", required=True, help="the tenant")
    price.add_argument("--account", required=True, help="the buyer's account (Sonet customerNumber)")
    price.add_argument("--sku", required=True, help="the sku of the published catalogue (a variant's or option's)")
    price.add_argument("--quantity", type=positive_quantity, default=Decimal(1), help="the quantity (default 1)")
    price.add_argument("--at", type=instant, metavar="TS", help="the instant (ISO-8601 with offset; default now)")
    price.add_argument("--json", action="store_true", help="one JSON document on stdout")
    price.set_defaults(handler=_price)


def _fail(problem: str, code: int = EXIT_FAILED) -> int:
    print(f"sonet-pipeline shop price: {problem}", file=sys.stderr)
    return code


def _price(args: argparse.Namespace) -> int:
    tenant = tenant_by_name(load_tenants(), args.tenant)
    at: datetime = args.at or SystemClock().now()
    try:
        where = destination(tenant)
    except ValueError as exc:
        return _fail(str(exc), EXIT_USAGE)
    try:
        manifest = read_manifest(where)
        files = {name: published_rows(where, f"{name}.jsonl") for name in ("accounts", "catalogue", "prices")}
    except storage_errors() as exc:
        return _fail(f"cannot read {tenant.name}'s published files at {where.describe()}: {exc}")
    except ValueError as exc:  # a line that is not JSON
        return _fail(f"{tenant.name}'s published files at {where.describe()} are unreadable: {exc}")
    missing = [f"{name}.jsonl" for name, rows in files.items() if rows is None]
    if missing:
        return _fail(
            f"{tenant.name} has no {', '.join(missing)} at {where.describe()} yet "
            f"(sonet-pipeline shop publish --tenant {tenant.name})"
        )
    account = next((row for row in files["accounts"] or [] if row.get("accountId") == args.account), None)
    if account is None:
        return _fail(f"unknown account {args.account!r}: not a published account of {tenant.name} (an ACTIVE customer)")
    sold, models = sold_skus(files["catalogue"] or [])
    item = sold.get(args.sku)
    because = "not in the published catalogue"
    if item is None:
        if args.sku in models:
            choices = ", ".join(models[args.sku][:10]) or "none published"
            return _fail(f"sku {args.sku!r} is a configurable product; name one of its skus: {choices}")
        known = _snapshot_item(tenant.name, args.sku)
        if known is None:
            return _fail(
                f"unknown sku {args.sku!r}: neither in {tenant.name}'s published catalogue nor in Sonet's items"
            )
        because = _why_not_sold(known)
    answer = buyer_price(account, item, args.sku, files["prices"] or [], args.quantity, at, not_sold_because=because)
    published_at = (manifest or {}).get("publishedAt")
    caveat = _outside(at, published_at, tenant.shop.price_horizon)
    if caveat:  # an answer still, but the published prices may not know that instant
        print(f"sonet-pipeline shop price: note: {caveat}", file=sys.stderr)
    if args.json:
        document = {"tenant": tenant.name, **answer.as_json(), "destination": where.describe()}
        print(json.dumps({**document, "publishedAt": published_at}, ensure_ascii=False))
        return EXIT_OK
    for text in _described(tenant.name, answer, where, published_at):
        print(text)
    return EXIT_OK


def _outside(at: datetime, published_at: Any, horizon: timedelta) -> str | None:
    """Why the published prices may not know `at`: before their publish, or beyond their horizon."""
    try:
        published = instant(str(published_at))
    except argparse.ArgumentTypeError:  # no publish time: nothing to say
        return None
    if at < published:
        return f"--at is before the files were published ({published_at}): prices.jsonl lists the prices from then on"
    if at >= published + horizon:
        return f"--at is beyond the prices' horizon ({instant_text(published + horizon)}): a later publish may say more"
    return None


def _snapshot_item(tenant: str, sku: str) -> dict[str, Any] | None:
    """The item `sku` names in the tenant's synced snapshot, or None (no such item, or no snapshot)."""
    from sonet_pipeline.store import open_snapshot

    try:
        return next(iter(open_snapshot(tenant).records("items", keys=[sku])), None)
    except (OSError, ValueError, LookupError):  # no snapshot yet, or none readable: the sku is unknown
        return None


def _why_not_sold(item: dict[str, Any]) -> str:
    if item.get("status") != "ACTIVE":
        return f"the item is {item.get('status')} in Sonet"
    if item.get("webVisible") is not True:
        return "the item is not web-visible in Sonet"
    return "not in the published catalogue (withheld: see the variants_consistent check, or not published yet)"


def _described(tenant: str, answer: Answer, where: Destination, published_at: Any) -> list[str]:
    price = answer.price
    amount = f"{price.amount} {price.currency}" if price.amount is not None else price.source
    head = (
        f"{answer.sku} for {answer.account} ({tenant}): {amount} "
        f"(quantity {answer.quantity}, at {instant_text(answer.at)})"
    )
    rows = [
        ("price list", answer.price_list or "none"),
        ("item", answer.item_code or "-"),
        ("decided by", answer.note),
    ]
    if price.line is not None:
        line = price.line
        valid = f"{instant_text(line.valid_from) or 'since ever'} to {instant_text(line.valid_to) or 'open-ended'}"
        rows += [("line", line.line_id), ("from quantity", str(line.min_quantity)), ("valid", valid)]
    rows.append(("published", f"{published_at or 'at an unknown time'} to {where.describe()}"))
    return [head, *(f"  {label + ':':<16}{value}" for label, value in rows)]
