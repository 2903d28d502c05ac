"""`sonet-pipeline sync`: the sync job run now, through Dagster, for some tenants and perhaps a window.

Without a window: the hour in progress (an empty store gets its initial load first). With `--from`
and `--to`: the hours covering that window, in one run, each tenant reading exactly that window plus
its lookback. The run is stored in the instance, so it shows in the UI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from dagster import DagsterInstance, Definitions

from sonet_pipeline.assets.inbound import SYNC_PARTITIONS, inbound_key, partition_key_for, sync_op_name
from sonet_pipeline.dagster_home import FLOW_TAG
from sonet_pipeline.entities import SYNCED
from sonet_pipeline.jobs.cli_runs import execute_job
from sonet_pipeline.jobs.sync import SYNC_JOB
from sonet_pipeline.tenants import Tenant

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
SUMMARY_FIELDS = ("fetched", "inserted", "updated", "deleted", "pages", "retries", "throttled_429")


@dataclass
class SyncRunSummary:
    run_id: str
    success: bool
    #: tenant -> entity -> figures (counts, window, high-water mark, lag)
    tenants: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "success": self.success, "tenants": self.tenants, "failures": self.failures}


def run_sync(
    defs: Definitions,
    instance: DagsterInstance,
    tenants: list[Tenant],
    *,
    window: tuple[datetime, datetime] | None = None,
    full: bool = False,
    now: datetime | None = None,
) -> SyncRunSummary:
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
    result = execute_job(
        defs.resolve_job_def(SYNC_JOB),
        instance,
        tags=tags,
        run_config=run_config,
        partition_key=partition_key,
        asset_selection=[inbound_key(t.name, name) for t in tenants for name in SYNCED],
    )
    summary = SyncRunSummary(run_id=result.run_id, success=result.success)
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        tenant, _, entity_name = materialization.asset_key.path
        figures = {name: _plain(name, value.value) for name, value in materialization.metadata.items()}
        summary.tenants.setdefault(tenant, {})[entity_name] = figures
    summary.failures = [_failure_text(event) for event in result.all_events if event.is_step_failure]
    return summary


def _failure_text(event: Any) -> str:
    """What failed, in the words of the code that raised it (a `Failure`'s description, else the cause)."""
    data = event.step_failure_data
    if data is not None and data.user_failure_data is not None and data.user_failure_data.description:
        return f"{event.step_key}: {data.user_failure_data.description}"
    error = data.error if data is not None else None
    while error is not None and error.cause is not None:
        error = error.cause
    return f"{event.step_key}: {error.message.strip() if error else 'failed'}"


def _plain(name: str, value: Any) -> Any:
    if name == "high_water_mark" and isinstance(value, float):
        return datetime.fromtimestamp(value, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return value


def _range_tags(window: tuple[datetime, datetime], now: datetime) -> dict[str, str]:
    """The partition range covering `[start, end)`, clamped to the partitions that exist."""
    start, end = window
    first = SYNC_PARTITIONS.get_first_partition_key()
    last = partition_key_for(now)
    assert first is not None
    start_key = max(first, partition_key_for(start))
    end_key = min(last, max(start_key, partition_key_for(end - timedelta(microseconds=1))))
    return {RANGE_START_TAG: start_key, RANGE_END_TAG: end_key}


def format_summary(summary: SyncRunSummary) -> list[str]:
    """Lines for a person: one per tenant and entity."""
    lines = [f"sync run {summary.run_id}: {'succeeded' if summary.success else 'FAILED'}"]
    for tenant, by_entity in sorted(summary.tenants.items()):
        for entity_name, figures in by_entity.items():
            counts = ", ".join(f"{name} {figures[name]}" for name in SUMMARY_FIELDS if name in figures)
            lag = figures.get("lag_seconds")
            lag_text = f", lag {lag:.0f} s" if isinstance(lag, int | float) else ""
            lines.append(f"  {tenant} {entity_name}: {counts}{lag_text}")
    lines += [f"  failure: {failure}" for failure in summary.failures]
    return lines
