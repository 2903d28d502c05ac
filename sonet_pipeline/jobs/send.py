"""The send job (one run carries every due tenant's send step) and the resend job for the UI."""

# No `from __future__ import annotations`: Dagster reads the annotations of the decorated functions.

from collections.abc import Sequence

from dagster import (
    AssetsDefinition,
    AssetSelection,
    Config,
    OpExecutionContext,
    ResourceParam,
    define_asset_job,
    job,
    op,
)
from pydantic import Field

from sonet_pipeline.common.clock import Clock
from sonet_pipeline.jobs.instance import FLOW_TAG
from sonet_pipeline.jobs.sync import AssetJob
from sonet_pipeline.outbox import Selection
from sonet_pipeline.resources.outbox import OutboxResource

SEND_JOB = "sonet_send"
RESEND_JOB = "sonet_outbox_resend"


def build_send_job(send_assets: Sequence[AssetsDefinition]) -> AssetJob:
    return define_asset_job(
        SEND_JOB,
        selection=AssetSelection.assets(*send_assets),
        tags={FLOW_TAG: "send"},
        description="Due web-shop orders of every tenant released to Sonet, within each tenant's limits.",
    )


class ResendConfig(Config):
    """Exactly one of: message ids, a tenant's order numbers, or every failed message with a code."""

    message_ids: list[str] = Field(default_factory=list)
    order_numbers: list[str] = Field(default_factory=list)
    failed_with: str | None = Field(default=None, description="an error code, e.g. UNKNOWN_ITEM")
    tenant: str | None = Field(default=None, description="needed with order numbers; narrows failed_with")


@op
def resend_failed_messages(
    context: OpExecutionContext, config: ResendConfig, outbox: OutboxResource, clock: ResourceParam[Clock]
) -> list[str]:
    """Put failed messages back to pending; they go with the next send run (same bytes)."""
    if config.message_ids:
        selection = Selection.ids(*config.message_ids)
    elif config.order_numbers:
        selection = Selection.orders(config.tenant or "", *config.order_numbers)
    else:
        selection = Selection.failed_with(config.failed_with or "", config.tenant)
    with outbox.open() as messages:
        moved = messages.resend(selection, actor=f"resend run {context.run.run_id}", now=clock.now())
    context.log.info("%d message(s) back to pending: %s", len(moved), ", ".join(moved[:20]))
    return moved


@job(name=RESEND_JOB, description="Resend failed outbox messages (by id, order number or error code).")
def resend_job() -> None:
    resend_failed_messages()
