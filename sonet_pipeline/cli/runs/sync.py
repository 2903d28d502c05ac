"""`sonet-pipeline sync`: the sync job run now, through Dagster, for some tenants and perhaps a window.

Without a window: the month in progress (an empty store gets its initial load first, which records
every month since the first partition). With `--from` and `--to`: the months covering that window, in
one run, each tenant reading exactly that window plus its lookback. The run is stored in the
instance, so it shows in the UI.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from dagster import DagsterInstance, Definitions

from sonet_pipeline.assets.inbound import SYNC_PARTITIONS, inbound_key, partition_key_for, sync_op_name
from sonet_pipeline.assets.inbound_checks import check_keys
from sonet_pipeline.assets.tenant_sync import SYNC_STATUS
from sonet_pipeline.cli.runs.progress_watch import execute_shown
from sonet_pipeline.cli.runs.summary import RunSummary, summarize
from sonet_pipeline.cli.runs.tenant_leases import DEFAULT_WAIT_SECONDS, new_run_id, tenants_held
from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.jobs.instance import FLOW_TAG
from sonet_pipeline.jobs.sync import SYNC_JOB
from sonet_pipeline.sonet.entities import SYNCED

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
SUMMARY_FIELDS = ("fetched", "inserted", "updated", "deleted", "pages", "retries", "throttled_429", "lag_seconds")


def run_sync(
    defs: Definitions,
    instance: DagsterInstance,
    tenants: list[Tenant],
    *,
    window: tuple[datetime, datetime] | None = None,
    full: bool = False,
    now: datetime | None = None,
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
    progress: TextIO | None = None,
) -> RunSummary:
    """The sync of `tenants` now, once no other run holds their stores (waiting up to `wait_seconds`;
    else `TenantBusy` and no run); its progress drawn on `progress`, a terminal, when given."""
    now = now or datetime.now(UTC)
    tags = {FLOW_TAG: "sync"}
    run_config: dict[str, Any] = {"ops": {}}
    partition_key = None
    if window is None:
        partition_key = partition_key_for(now)
        for tenant in tenants:
            run_config["ops"][sync_op_name(tenant.name)] = {"config": {"full": full}}
    else:
        tags.update(_range_tags(window, now))
        bounds = {"modified_from": window[0].isoformat(), "modified_to": window[1].isoformat()}
        for tenant in tenants:
            run_config["ops"][sync_op_name(tenant.name)] = {"config": bounds}
    run_id = new_run_id()
    with tenants_held("sync", tenants, run_id, wait_seconds=wait_seconds):
        result = execute_shown(
            defs.resolve_job_def(SYNC_JOB),
            instance,
            progress=progress,
            tags=tags,
            run_config=run_config,
            partition_key=partition_key,
            asset_selection=[inbound_key(t.name, name) for t in tenants for name in SYNCED],
            asset_check_selection=[key for t in tenants for key in check_keys(t.name)],
            run_id=run_id,
        )
    return summarize(result)


def _no_changes(tenant: str, status: dict[str, Any]) -> str:
    line = f"  {tenant}: no changes, synced at {status.get('last_synced', 'now')}"
    return line + (f", newest change {status['lag_seconds']} s ago" if "lag_seconds" in status else "")


def _range_tags(window: tuple[datetime, datetime], now: datetime) -> dict[str, str]:
    """The partition range covering `[start, end)`, clamped to the partitions that exist."""
    start, end = window
    first = SYNC_PARTITIONS.get_first_partition_key()
    last = partition_key_for(now)
    assert first is not None
    start_key = max(first, partition_key_for(start))
    end_key = min(last, max(start_key, partition_key_for(end - timedelta(microseconds=1))))
    return {RANGE_START_TAG: start_key, RANGE_END_TAG: end_key}


def format_summary(summary: RunSummary) -> list[str]:
    """Lines for a person: one per tenant and changed entity ("no changes" for a tenant without one),
    then the failures, then each tenant whose snapshot was held back."""
    entities = {t: {n: f for n, f in by.items() if n != SYNC_STATUS} for t, by in summary.tenants.items()}
    lines = [f"sync run {summary.run_id}: {'succeeded' if summary.success else 'FAILED'}"]
    for tenant, by_entity in sorted(entities.items()):
        shown = RunSummary(summary.run_id, summary.success, {tenant: by_entity}).lines("sync", SUMMARY_FIELDS)[1:]
        status = summary.tenants[tenant].get(SYNC_STATUS)
        lines += shown if shown or status is None else [_no_changes(tenant, status)]
    lines += [f"  failure: {failure}" for failure in summary.failures]
    for tenant, by_entity in sorted(entities.items()):
        held = {name: figures for name, figures in by_entity.items() if figures.get("snapshot_held")}
        if held:
            why = next(iter(held.values())).get("held_by")
            lines.append(
                f"  {tenant}: snapshot of {', '.join(held)} held back at the last state that passed ({why}): "
                "the shop and the sender read that until Sonet corrects the records"
            )
    return lines
