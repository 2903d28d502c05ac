"""Outbound: each tenant's web-shop orders released to Sonet as SalesOrder messages.

One step per tenant claims its due messages from the outbox, builds what is not built yet (variant
attributes from the synced items) and sends within the tenant's Message API limits (`outbound/sender.py`). It
materializes `<tenant>/orders/messages_built` and `<tenant>/orders/messages_delivered`, downstream
of the outbox (`<tenant>/webshop/orders`, written by the intake) and of the tenant's synced items.
The tenant's send lease keeps any other run, from the daemon or the CLI, from sending for it at once.
Every attempt goes to the tenant's audit archive (`archive` resource); an attempt the archive could not
keep is counted as `archive_failures` and fails the `archive_complete` check (the send itself goes on).
"""

# No `from __future__ import annotations`: Dagster reads the annotations of the decorated functions.

from collections.abc import Iterator
from datetime import timedelta

from dagster import (
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
from sonet_pipeline.assets.progress import SendProgress, step_progress
from sonet_pipeline.common.clock import Clock
from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.extensions.chains import TenantChains
from sonet_pipeline.outbound.send_report import SendReport
from sonet_pipeline.outbound.sender import Sender, TenantRefusedError
from sonet_pipeline.outbound.variant_attributes import variant_attributes
from sonet_pipeline.outbox import FAILED, Outbox, to_json
from sonet_pipeline.resources.archive import ArchiveResource
from sonet_pipeline.resources.extension_pipes import PipesExtensionsResource
from sonet_pipeline.resources.leases import LeaseResource
from sonet_pipeline.resources.outbox import OutboxResource
from sonet_pipeline.resources.run_guard import RunGuardResource
from sonet_pipeline.resources.sonet import SonetResource
from sonet_pipeline.resources.store import StoreResource

#: A pending message older than this is a backlog worth a warning.
BACKLOG_WARN_SECONDS = 900
SAMPLE_ROWS = 20


def outbox_key(tenant: str) -> AssetKey:
    return AssetKey([tenant, "webshop", "orders"])


def built_key(tenant: str) -> AssetKey:
    return AssetKey([tenant, "orders", "messages_built"])


def delivered_key(tenant: str) -> AssetKey:
    return AssetKey([tenant, "orders", "messages_delivered"])


def send_op_name(tenant: str) -> str:
    return f"{tenant}__send_orders"


def outbox_spec(tenant: Tenant) -> AssetSpec:
    """The web-shop orders in the outbox: written by the intake, outside Dagster."""
    return AssetSpec(
        outbox_key(tenant.name),
        group_name=tenant.name,
        description=f"Web-shop orders of {tenant.name} as the intake stored them in the outbox "
        f"(`POST /tenants/{tenant.name}/orders`, `orders enqueue`), outside Dagster; `outbox status` counts "
        "them by state.",
        owners=tenant.asset_owners(),
    )


def build_tenant_send(tenant: Tenant) -> AssetsDefinition:
    name = tenant.name
    specs = [
        AssetSpec(
            built_key(name),
            group_name=name,
            deps=[outbox_key(name), inbound_key(name, "items")],
            description="SalesOrder XML messages built from the due web-shop orders, stored as built so that "
            "a resend sends the same bytes; an order that cannot become a valid message fails as UNMAPPABLE.",
            kinds={"xml"},
            owners=tenant.asset_owners(),
        ),
        AssetSpec(
            delivered_key(name),
            group_name=name,
            deps=[built_key(name)],
            description="Messages handed to Sonet's Message API within the tenant's rate limits, each settled "
            "by Sonet's answer: sent, failed (needs an operator) or pending again for a retry.",
            owners=tenant.asset_owners(),
        ),
    ]
    checks = [
        AssetCheckSpec("no_failed_messages", asset=delivered_key(name), description="no message needs an operator"),
        AssetCheckSpec(
            "backlog_moving",
            asset=delivered_key(name),
            description=f"no pending message older than {BACKLOG_WARN_SECONDS} s",
        ),
        AssetCheckSpec(
            "archive_complete",
            asset=delivered_key(name),
            description="every attempt of this run is in the audit archive (its request and Sonet's answer)",
        ),
    ]

    @multi_asset(
        name=send_op_name(name),
        specs=specs,
        check_specs=checks,
    )
    def send_orders(
        context: AssetExecutionContext,
        sonet: SonetResource,
        outbox: OutboxResource,
        archive: ArchiveResource,
        store: StoreResource,
        leases: LeaseResource,
        run_guard: RunGuardResource,  # tags the run so that a dead one is failed
        extension_pipes: PipesExtensionsResource,  # the tenant's `pipes` extensions run on this step
        clock: ResourceParam[Clock],
    ) -> Iterator[MaterializeResult | AssetCheckResult]:
        owner = f"send run {context.run.run_id}"
        limits = tenant.sonet.message_limits
        archived = archive.for_tenant(name)
        with (
            leases.hold(f"send-{name}", owner),
            outbox.open() as messages,
            sonet.message_client(name, clock) as client,
            sonet.query_client(name, clock) as lookup_client,
            extension_pipes.bound(context),
        ):
            sender = Sender(
                tenant=name,
                outbox=messages,
                client=client,
                variant_attributes=variant_attributes(store.snapshot(name)),
                clock=clock,
                owner=owner,
                retry_window=timedelta(hours=tenant.send_retry_hours),
                in_flight=limits.in_flight,
                rate=limits.rate,
                lookup=lookup_client.sales_order,
                archive=archived,
                extensions=TenantChains(name, tenant.extensions.specs(name)),
            )
            limit = int(limits.rate * max(tenant.send_every_seconds, 10)) + limits.burst
            reporter = step_progress(context, clock, flow="send", tenant=name)
            told = SendProgress(reporter, lambda: messages.backlog(name, clock.now())[0], limit)
            try:
                report = sender.send_due(limit=limit, on_answer=told.on_answer)
            except TenantRefusedError as exc:
                raise Failure(description=str(exc), allow_retries=False) from None
            told.finished(report)
            context.log.info(
                "%s: %d claimed, %d built, %d sent, %d duplicate, %d failed, %d retried, %d without answer",
                name,
                report.claimed,
                report.built,
                report.sent,
                report.duplicate,
                sum(report.failed.values()),
                report.retried,
                report.unknown,
            )
            if report.archive_failures:
                context.log.warning(
                    "%s: the audit archive (%s) could not keep %d attempt(s), sent nonetheless: %s",
                    name,
                    archived.describe(),
                    report.archive_failures,
                    ", ".join(report.archive_gaps[:SAMPLE_ROWS]),
                )
            yield MaterializeResult(asset_key=built_key(name), metadata=_built_metadata(report))
            backlog, oldest = messages.backlog(name, clock.now())
            metadata = _delivered_metadata(report, backlog, oldest)
            metadata["archive"] = MetadataValue.text(archived.describe())
            yield MaterializeResult(asset_key=delivered_key(name), metadata=metadata)
            yield from _checks(name, messages, oldest)
            yield _archive_check(name, report)

    return send_orders


def _built_metadata(report: SendReport) -> dict[str, MetadataValue]:
    unmappable = report.failed.get("UNMAPPABLE", 0) + report.failed.get("TOO_LARGE", 0)
    return {
        "claimed": MetadataValue.int(report.claimed),
        "built": MetadataValue.int(report.built),
        "unmappable": MetadataValue.int(unmappable),
    }


def _delivered_metadata(report: SendReport, backlog: int, oldest: float | None) -> dict[str, MetadataValue]:
    metadata: dict[str, MetadataValue] = {
        "sent": MetadataValue.int(report.sent),
        "duplicate": MetadataValue.int(report.duplicate),
        "failed": MetadataValue.int(sum(report.failed.values())),
        "retried": MetadataValue.int(report.retried),
        "without_answer": MetadataValue.int(report.unknown),
        "throttled_429": MetadataValue.int(report.throttled_429),
        "achieved_rate_per_second": MetadataValue.float(round(report.rate(), 2)),
        "backlog_left": MetadataValue.int(backlog),
        "failed_by_code": MetadataValue.json(dict(report.failed)),
        "archive_failures": MetadataValue.int(report.archive_failures),
        # Accepted orders whose lines the intake found off the buyer's price (at most 20 shown).
        "price_flagged": MetadataValue.int(len(report.price_flagged)),
    }
    if report.price_flagged:
        metadata["price_flagged_orders"] = MetadataValue.json(report.price_flagged[:20])
    if oldest is not None:
        metadata["oldest_pending_age_seconds"] = MetadataValue.float(round(oldest, 1))
    return metadata


def _checks(tenant: str, outbox: Outbox, oldest: float | None) -> Iterator[AssetCheckResult]:
    failed = outbox.list(tenant=tenant, state=FAILED, limit=SAMPLE_ROWS + 1)
    rows = [to_json(m) for m in failed[:SAMPLE_ROWS]]
    sample = "\n".join(
        ["| message | order | code | message | field |", "|---|---|---|---|---|"]
        + [
            f"| {r['message_id']} | {r['order_number']} | {r['error']['code']} | "
            f"{str(r['error']['message'])[:80].replace('|', '/')} | {r['error']['field'] or ''} |"
            for r in rows
        ]
    )
    yield AssetCheckResult(
        asset_key=delivered_key(tenant),
        check_name="no_failed_messages",
        passed=not failed,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "failed_at_least": MetadataValue.int(len(failed)),
            "sample": MetadataValue.md(sample if rows else "none"),
        },
    )
    yield AssetCheckResult(
        asset_key=delivered_key(tenant),
        check_name="backlog_moving",
        passed=oldest is None or oldest <= BACKLOG_WARN_SECONDS,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "oldest_pending_age_seconds": MetadataValue.float(round(oldest or 0.0, 1)),
            "limit_seconds": MetadataValue.int(BACKLOG_WARN_SECONDS),
        },
    )


def _archive_check(tenant: str, report: SendReport) -> AssetCheckResult:
    """An audit gap is never silent: the attempts of this run the archive could not keep, by name."""
    gaps = report.archive_gaps
    return AssetCheckResult(
        asset_key=delivered_key(tenant),
        check_name="archive_complete",
        passed=not report.archive_failures,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "archive_failures": MetadataValue.int(report.archive_failures),
            "attempts": MetadataValue.md("\n".join(f"- {gap}" for gap in gaps[:SAMPLE_ROWS]) or "none"),
        },
    )
