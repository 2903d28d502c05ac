"""The web shop's view: each tenant's catalogue, accounts, logins, rights, prices and order status, published.

One step per tenant materializes the files whose inputs changed (`shop/inputs.py`; the shop sensor
selects them): it reads the sync's snapshot (never its DuckDB file) and the outbox, calls the pure
functions of `sonet_pipeline.shop`, and publishes each file atomically, the manifest last. Each
asset is one published file (`<tenant>/shop/<file>`), downstream of the Sonet assets it is made from.
Checks warn, naming the records, about what is withheld: configurable products whose variants
collide, and e-mails that two customers share.
"""

# No `from __future__ import annotations`: Dagster reads the annotations of the decorated functions.

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    ResourceParam,
    multi_asset,
)

from sonet_pipeline.assets.inbound import inbound_key
from sonet_pipeline.assets.markdown_table import markdown_table
from sonet_pipeline.assets.orders import outbox_key
from sonet_pipeline.assets.progress import FilesProgress, step_progress
from sonet_pipeline.common.blobs import Blobs
from sonet_pipeline.common.clock import Clock
from sonet_pipeline.common.streaming import streaming_runtime
from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.extensions.chains import TenantChains
from sonet_pipeline.extensions.records import extended_records
from sonet_pipeline.resources.extension_pipes import PipesExtensionsResource
from sonet_pipeline.resources.leases import LeaseResource
from sonet_pipeline.resources.outbox import OutboxResource
from sonet_pipeline.resources.publish import PublishResource
from sonet_pipeline.resources.store import StoreResource
from sonet_pipeline.rights.accounts import Accounts, build_accounts
from sonet_pipeline.rights.rules import rights_matrix, rights_summary
from sonet_pipeline.shop import inputs as shop_inputs
from sonet_pipeline.shop.catalogue_cache import Built, IncrementalCatalogue
from sonet_pipeline.shop.extended_catalogue import build_extended_catalogue
from sonet_pipeline.shop.inputs import ACCOUNTS, CATALOGUE, FILES, LOGINS, ORDER_STATUS, PRICES, RIGHTS
from sonet_pipeline.shop.order_status import order_statuses
from sonet_pipeline.shop.prices import LINE_ORDER, EncodedPricesFile, streamed_prices_file
from sonet_pipeline.shop.publish import Destination, EncodedLines, publish, read_manifest
from sonet_pipeline.store import Snapshot, cache_blobs

SAMPLE_ROWS = 20

_DESCRIPTIONS = {
    CATALOGUE: "Products for the shop: simple, configurable with variants or options; hidden items left out.",
    ACCOUNTS: "B2B accounts: every ACTIVE customer, its id the Sonet customerNumber.",
    LOGINS: "A login per contact e-mail of an account; e-mails shared by two customers withheld.",
    RIGHTS: "Per login: may see prices, may order, order limit, and the tenant rule that decided.",
    ORDER_STATUS: "Per web order: received, sent with Sonet's order number and status, or failed with why.",
    PRICES: "Per price list and item: the quantity breaks in force, and those to come within the horizon.",
}
_DEPS = {
    CATALOGUE: [("sonet", "items")],
    ACCOUNTS: [("sonet", "customers"), ("sonet", "segments")],
    LOGINS: [("shop", ACCOUNTS)],
    RIGHTS: [("shop", LOGINS)],
    ORDER_STATUS: [("sonet", "sales_orders")],
    PRICES: [("sonet", "price_list_lines")],
}


def shop_key(tenant: str, name: str) -> AssetKey:
    return AssetKey([tenant, "shop", name])


def shop_op_name(tenant: str) -> str:
    return f"{tenant}__shop"


#: The check each published file carries, by file (the others carry none).
FILE_CHECKS = {CATALOGUE: "variants_consistent", LOGINS: "logins_unique"}


def shop_selection(files_by_tenant: Mapping[str, Sequence[str]]) -> tuple[list[AssetKey], list[AssetCheckKey]]:
    """The assets and checks of a shop run that publishes these files of these tenants."""
    assets = [shop_key(tenant, file) for tenant, files in files_by_tenant.items() for file in files]
    checks = [
        AssetCheckKey(shop_key(tenant, file), FILE_CHECKS[file])
        for tenant, files in files_by_tenant.items()
        for file in files
        if file in FILE_CHECKS
    ]
    return assets, checks


def build_tenant_shop(tenant: Tenant) -> AssetsDefinition:
    name = tenant.name

    def dep(kind: str, what: str) -> AssetKey:
        return inbound_key(name, what) if kind == "sonet" else shop_key(name, what)

    specs = [
        AssetSpec(
            shop_key(name, file),
            group_name=name,
            deps=[dep(*d) for d in _DEPS[file]] + ([outbox_key(name)] if file == ORDER_STATUS else []),
            description=f"{_DESCRIPTIONS[file]} Published as {file}.jsonl (JSON Lines) for the web shop.",
            kinds={"json"},
            owners=tenant.asset_owners(),
        )
        for file in FILES
    ]
    checks = [
        AssetCheckSpec(
            FILE_CHECKS[CATALOGUE],
            asset=shop_key(name, CATALOGUE),
            description="no configurable product withheld for colliding or disagreeing variants",
        ),
        AssetCheckSpec(
            FILE_CHECKS[LOGINS],
            asset=shop_key(name, LOGINS),
            description="no login withheld for an e-mail that contacts of two customers share",
        ),
    ]

    @multi_asset(
        name=shop_op_name(name),
        specs=specs,
        check_specs=checks,
        can_subset=True,
    )
    def shop_view(
        context: AssetExecutionContext,
        store: StoreResource,
        outbox: OutboxResource,
        publish: PublishResource,
        leases: LeaseResource,
        extension_pipes: PipesExtensionsResource,  # the tenant's `pipes` extensions run on this step
        clock: ResourceParam[Clock],
    ) -> Iterator[MaterializeResult | AssetCheckResult]:
        # One publisher of a tenant's files at a time, from the daemon or the CLI alike.
        with leases.hold(f"shop-{name}", f"shop run {context.run.run_id}"), extension_pipes.bound(context):
            yield from _publish_step(
                context,
                tenant,
                snapshot=store.snapshot(name),
                cache=store.cache(name),
                outbox=outbox,
                destination=publish.destination(tenant),
                clock=clock,
            )

    return shop_view


def _publish_step(
    context: AssetExecutionContext,
    tenant: Tenant,
    *,
    snapshot: Snapshot,
    cache: Blobs,
    outbox: OutboxResource,
    destination: Destination,
    clock: Clock,
) -> Iterator[MaterializeResult | AssetCheckResult]:
    """Compute the selected files of `tenant` from its snapshot and the outbox, publish them, report."""
    name = tenant.name
    selected = [file for file in FILES if shop_key(name, file) in context.selected_asset_keys]
    told = FilesProgress(step_progress(context, clock, flow="shop", tenant=name), selected)
    with outbox.open() as opened:
        mark = opened.change_mark(name)  # before reading: a later move is seen by the next run
        messages = opened.list(name) if ORDER_STATUS in selected else []
    snapshot_manifest = snapshot.manifest()
    now_inputs = shop_inputs.current_inputs(tenant, snapshot_manifest, mark)
    if now_inputs is None or snapshot_manifest is None:
        raise Failure(description=f"tenant {name!r} has no synced snapshot yet: run its Sonet sync first")
    now = clock.now()  # the prices in force are those of this instant
    with streaming_runtime():  # fewer young-generation collections while 100,000s of records stream
        files, results = _compute(tenant, snapshot, selected, messages, cache, told.doing, now=now)
    published = read_manifest(destination)
    marks = {e: d.get("high_water_mark") for e, d in snapshot_manifest.get("entities", {}).items()}
    next_changes = {file: result.next_change for file, result in results.items() if file == PRICES}
    source = shop_inputs.merged_source(published, now_inputs, selected, marks, next_changes)
    told.doing(len(selected), "publishing")
    manifest = publish(destination, files, tenant=name, source=source, now=now)
    told.finished()
    written = {entry["name"]: entry for entry in manifest["files"]}
    context.log.info("%s: published %s to %s", name, ", ".join(selected), destination.describe())
    for file in selected:
        entry = written[f"{file}.jsonl"]
        metadata = {
            "records": MetadataValue.int(entry["records"]),
            "bytes": MetadataValue.int(entry["bytes"]),
            "sha256": MetadataValue.text(entry["sha256"]),
            "changed": MetadataValue.bool(entry["changed"]),  # False: same bytes, not rewritten
            # Dagster's name for where the file is (a file:// or s3:// URL); the CLI calls it published_to.
            "dagster/uri": MetadataValue.text(f"{destination.describe()}/{file}.jsonl"),
            **results[file].metadata,
        }
        yield MaterializeResult(asset_key=shop_key(name, file), metadata=metadata)
        yield from results[file].checks


class _Result:
    def __init__(
        self,
        metadata: dict[str, MetadataValue],
        checks: list[AssetCheckResult] | None = None,
        next_change: str | None = None,  # when time alone makes the file stale (prices)
    ) -> None:
        self.metadata, self.checks, self.next_change = metadata, checks or [], next_change


def _compute(
    tenant: Tenant,
    snapshot: Snapshot,
    selected: list[str],
    messages: list[Any],
    cache: Blobs | None = None,
    doing: Callable[[int, str], None] | None = None,
    *,
    now: datetime,
) -> tuple[dict[str, Sequence[Mapping[str, Any]] | EncodedLines], dict[str, _Result]]:
    """The selected files' content and results; the catalogue's cache in `cache` (default: where the
    settings keep the tenant's caches); the prices in force at `now`. `doing(built, what)` hears what
    is built next."""
    files: dict[str, Sequence[Mapping[str, Any]] | EncodedLines] = {}
    results: dict[str, _Result] = {}
    extensions = TenantChains(tenant.name, tenant.extensions.specs(tenant.name))  # docs/extensions.md

    def building(what: str) -> None:
        if doing is not None:
            doing(len(files), f"building {what}")

    if CATALOGUE in selected:
        building(CATALOGUE)
        builder = IncrementalCatalogue(cache if cache is not None else cache_blobs(tenant.name))
        shaped = build_extended_catalogue(
            builder, snapshot, strategy=tenant.variant_strategy, shop=tenant.shop, extensions=extensions
        )
        built = shaped.built
        files[CATALOGUE], results[CATALOGUE] = built.lines, _catalogue_result(tenant.name, built, shaped.failed)
    if {ACCOUNTS, LOGINS, RIGHTS} & set(selected):
        building("accounts")
        customers = extended_records(extensions, "customers", snapshot.records("customers"))
        segments = extended_records(extensions, "segments", snapshot.records("segments"))
        accounts = build_accounts(customers.records, segments.records)
        if ACCOUNTS in selected:
            files[ACCOUNTS], results[ACCOUNTS] = accounts.accounts, _accounts_result(accounts)
            results[ACCOUNTS].metadata.update(_extension_failures(customers.failed + segments.failed))
        if LOGINS in selected:
            files[LOGINS], results[LOGINS] = accounts.logins, _logins_result(tenant.name, accounts)
        if RIGHTS in selected:
            matrix = rights_matrix(accounts, tenant.shop.rights, extensions)
            files[RIGHTS], results[RIGHTS] = matrix, _rights_result(matrix)
    if ORDER_STATUS in selected:
        building(ORDER_STATUS)
        statuses = order_statuses(messages, snapshot.records("sales_orders"))
        files[ORDER_STATUS], results[ORDER_STATUS] = statuses, _order_status_result(statuses)
    if PRICES in selected:
        building(PRICES)
        # One (list, item)'s lines at a time, each record encoded as it comes, read a few lists at a time
        # so that DuckDB sorts and holds only those lists' lines (300,000 lines: bench/README.md).
        lines = snapshot.records_in_parts("price_list_lines", LINE_ORDER[0], order=LINE_ORDER[1:])
        prices = streamed_prices_file(lines, now, tenant.shop.price_horizon)
        files[PRICES], results[PRICES] = prices.lines, _prices_result(prices)
    return files, results


def _prices_result(prices: EncodedPricesFile) -> _Result:
    counts: dict[str, MetadataValue] = {name: MetadataValue.int(n) for name, n in prices.counts.items()}
    # When the file must be published again though Sonet changes nothing (none: never).
    counts["next_change"] = MetadataValue.text(prices.next_change_text or "none")
    return _Result(counts, next_change=prices.next_change_text)


def _catalogue_result(tenant: str, built: Built, failed: Sequence[Mapping[str, Any]] = ()) -> _Result:
    counts: dict[str, MetadataValue] = {name: MetadataValue.int(count) for name, count in built.counts.items()}
    counts.update(_extension_failures(failed))
    counts["groups_rebuilt"] = MetadataValue.int(built.rebuilt_groups)  # models and items built anew
    counts["full_build"] = MetadataValue.bool(built.full)
    rows = [{"model": c.model_code, "problem": c.problem, "items": ", ".join(c.item_codes)} for c in built.conflicts]
    rows += [{"model": f.get("sku") or "", "problem": f["reason"], "items": f.get("key") or ""} for f in failed]
    check = _withheld_check(
        tenant, CATALOGUE, rows, ("withheld", "products"), "configurable product(s) withheld; the rest is published"
    )
    return _Result({**counts, "conflicts": MetadataValue.md(markdown_table(rows, SAMPLE_ROWS))}, [check])


def _extension_failures(failed: Sequence[Mapping[str, Any]]) -> dict[str, MetadataValue]:
    """What the tenant's extensions failed (records left out, lines withheld), named; nothing when none."""
    if not failed:
        return {}
    return {
        "extension_failures": MetadataValue.int(len(failed)),
        "extension_failed": MetadataValue.md(markdown_table([dict(f) for f in failed], SAMPLE_ROWS)),
    }


def _withheld_check(
    tenant: str, file: str, rows: list[dict[str, Any]], names: tuple[str, str], what: str
) -> AssetCheckResult:
    """A warning naming what `file` leaves out (`rows`); passed when nothing is left out."""
    count_name, table_name = names
    return AssetCheckResult(
        asset_key=shop_key(tenant, file),
        check_name=FILE_CHECKS[file],
        passed=not rows,
        severity=AssetCheckSeverity.WARN,
        metadata={
            count_name: MetadataValue.int(len(rows)),
            table_name: MetadataValue.md(markdown_table(rows, SAMPLE_ROWS)),
        },
        description=f"{len(rows)} {what}" if rows else None,
    )


def _accounts_result(accounts: Accounts) -> _Result:
    return _Result({name: MetadataValue.int(count) for name, count in accounts.counts.items()})


def _logins_result(tenant: str, accounts: Accounts) -> _Result:
    rows = [
        {"email": c.email, "customers": ", ".join(c.customers), "contacts": ", ".join(c.contact_ids)}
        for c in accounts.conflicts
    ]
    check = _withheld_check(
        tenant, LOGINS, rows, ("conflicts", "emails"), "e-mail(s) shared by two customers: those logins withheld"
    )
    metadata: dict[str, MetadataValue] = {
        "logins": MetadataValue.int(accounts.counts.get("logins", len(accounts.logins))),
        "logins_withheld": MetadataValue.int(accounts.counts.get("logins_withheld", 0)),
        "email_conflicts": MetadataValue.md(markdown_table(rows, SAMPLE_ROWS)),
    }
    return _Result(metadata, [check])


def _rights_result(matrix: list[dict[str, Any]]) -> _Result:
    return _Result(
        {
            "logins": MetadataValue.int(len(matrix)),
            "may_order": MetadataValue.int(sum(1 for row in matrix if row["canOrder"])),
            "may_see_prices": MetadataValue.int(sum(1 for row in matrix if row["canSeePrices"])),
            "by_rule": MetadataValue.md(rights_summary(matrix)),
            "matrix_sample": MetadataValue.md(markdown_table([_rights_row(row) for row in matrix], SAMPLE_ROWS)),
        }
    )


def _rights_row(row: Mapping[str, Any]) -> dict[str, str]:
    """A rights line as the operator reads it: why a buyer may (not) order is in rule and note."""
    return {
        "login": row["login"],
        "account": row["accountId"],
        "segments": ", ".join(row["segments"]),
        "role": row["role"] or "",
        "can see prices": _yes_no(row["canSeePrices"]),
        "can order": _yes_no(row["canOrder"]),
        "order limit": row["orderLimit"] or ("no limit" if row["canOrder"] else ""),
        "rule": row["rule"],
        "note": row["note"] or "",
    }


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _order_status_result(statuses: list[dict[str, Any]]) -> _Result:
    by_status: dict[str, int] = {}
    for row in statuses:
        by_status[row["status"]] = by_status.get(row["status"], 0) + 1
    metadata = {f"orders_{status}": MetadataValue.int(by_status.get(status, 0)) for status in _ORDER_STATES}
    failed = [
        {
            "order": row["orderNumber"],
            "code": (row["reason"] or {}).get("code"),
            "message": (row["reason"] or {}).get("message"),
        }
        for row in statuses
        if row["status"] == "failed"
    ]
    return _Result({**metadata, "failed_sample": MetadataValue.md(markdown_table(failed, SAMPLE_ROWS))})


_ORDER_STATES = ("received", "sent", "failed")
