"""`sonet-pipeline send`: the send job run now, through Dagster, for some tenants (the run shows in the UI)."""

from __future__ import annotations

from typing import TextIO

from dagster import DagsterInstance, Definitions

from sonet_pipeline.assets.orders import built_key, delivered_key
from sonet_pipeline.cli.runs.progress_watch import execute_shown
from sonet_pipeline.cli.runs.summary import RunSummary, summarize
from sonet_pipeline.cli.runs.tenant_leases import DEFAULT_WAIT_SECONDS, new_run_id, tenants_held
from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.jobs.instance import FLOW_TAG
from sonet_pipeline.jobs.send import SEND_JOB

SUMMARY_FIELDS = (
    "claimed",
    "built",
    "unmappable",
    "sent",
    "duplicate",
    "failed",
    "retried",
    "without_answer",
    "throttled_429",
    "achieved_rate_per_second",
    "backlog_left",
    "archive_failures",
)


def run_send(
    defs: Definitions,
    instance: DagsterInstance,
    tenants: list[Tenant],
    *,
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
    progress: TextIO | None = None,
) -> RunSummary:
    """Release the due messages of `tenants` now; failed messages are data, not a failed run. Once no
    other run sends for them (waiting up to `wait_seconds`; else `TenantBusy` and no run). Its progress
    is drawn on `progress`, a terminal, when given."""
    run_id = new_run_id()
    with tenants_held("send", tenants, run_id, wait_seconds=wait_seconds):
        result = execute_shown(
            defs.resolve_job_def(SEND_JOB),
            instance,
            progress=progress,
            tags={FLOW_TAG: "send"},
            asset_selection=[key for t in tenants for key in (built_key(t.name), delivered_key(t.name))],
            run_id=run_id,
        )
    return summarize(result)


def format_summary(summary: RunSummary) -> list[str]:
    return summary.lines("send", SUMMARY_FIELDS)
