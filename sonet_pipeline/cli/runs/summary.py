"""What a CLI prints after a run it started: per tenant and asset, the figures the run recorded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sonet_pipeline.assets.sync_partitions import COVERED_BY

TIMESTAMP_FIELDS = ("high_water_mark", "last_synced")
#: Dagster's metadata names, under the names the CLI's figures always had (its JSON is stable); None:
#: not a figure (the columns; when a sync finished is `last_synced` already).
DAGSTER_NAMES = {
    "dagster/row_count": "records_in_store",
    "dagster/uri": "published_to",
    "dagster/column_schema": None,
    "dagster/last_updated_timestamp": None,
}


@dataclass
class RunSummary:
    run_id: str
    success: bool
    #: tenant -> asset name (the key's last part) -> figures from the materialization's metadata
    tenants: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "success": self.success, "tenants": self.tenants, "failures": self.failures}

    def lines(self, flow: str, fields: Sequence[str]) -> list[str]:
        """For a person: one line per tenant and asset with the named figures, then the failures."""
        lines = [f"{flow} run {self.run_id}: {'succeeded' if self.success else 'FAILED'}"]
        for tenant, by_asset in sorted(self.tenants.items()):
            for asset, figures in by_asset.items():
                shown = ", ".join(f"{name} {figures[name]}" for name in fields if name in figures)
                lines.append(f"  {tenant} {asset}: {shown}")
        lines += [f"  failure: {failure}" for failure in self.failures]
        return lines


def summarize(result: Any) -> RunSummary:
    """The summary of an `ExecuteInProcessResult`: its materializations' and observations' metadata (a
    sync that changed nothing is only observed) and its step failures."""
    summary = RunSummary(run_id=result.run_id, success=result.success)
    recorded = [event for event in result.all_events if event.is_step_materialization or event.is_asset_observation]
    for event in recorded:
        data = event.step_materialization_data if event.is_step_materialization else event.asset_observation_data
        found = data.materialization if event.is_step_materialization else data.asset_observation
        if COVERED_BY in found.metadata:
            continue  # a month the read covered, recorded as materialized: no figures of its own
        path = found.asset_key.path
        named = {DAGSTER_NAMES.get(name, name): value for name, value in found.metadata.items()}
        figures = {name: _plain(name, value.value) for name, value in named.items() if name is not None}
        summary.tenants.setdefault(path[0], {})[path[-1]] = figures
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
    if name in TIMESTAMP_FIELDS and isinstance(value, float):
        return datetime.fromtimestamp(value, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return value
