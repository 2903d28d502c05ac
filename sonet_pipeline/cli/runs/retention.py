"""`sonet-pipeline retention`: the retention job run now, through Dagster (the run shows in the UI).

Like `sync` and `send`, and for the same reasons: the run is recorded where operators look, its
steps log to it, and a dead one is failed by the next command. A dry run is a run too (it deletes
nothing; the run's own record is what it adds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dagster import DagsterInstance, Definitions

from sonet_pipeline.cli.runs.summary import summarize
from sonet_pipeline.jobs.cli_runs import execute_job
from sonet_pipeline.jobs.instance import FLOW_TAG
from sonet_pipeline.jobs.retention import RETENTION_JOB, kinds_of, retention_run_config


@dataclass
class RetentionSummary:
    run_id: str
    success: bool
    dry_run: bool
    #: kind -> how many went (would go); None where its step failed before it could count
    counts: dict[str, int | None] = field(default_factory=dict)
    #: kind -> tenant (runs: final status) -> how many
    details: dict[str, dict[str, int]] = field(default_factory=dict)
    #: runs past their age kept because they hold an asset's latest materialization
    kept_runs: int = 0
    failures: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        tenants: dict[str, dict[str, int]] = {}
        for kind, by_tenant in self.details.items():
            if kind != "runs":
                for tenant, count in by_tenant.items():
                    tenants.setdefault(tenant, {})[kind] = count
        return {
            "run_id": self.run_id,
            "success": self.success,
            "dry_run": self.dry_run,
            "counts": self.counts,
            "runs_by_status": self.details.get("runs", {}),
            "runs_kept": self.kept_runs,
            "tenants": dict(sorted(tenants.items())),
            "failures": self.failures,
        }


def run_retention(defs: Definitions, instance: DagsterInstance, *, dry_run: bool) -> RetentionSummary:
    """Run the retention job now; with `dry_run` it counts what would go and deletes nothing."""
    retention_job = defs.resolve_job_def(RETENTION_JOB)
    result = execute_job(
        retention_job,
        instance,
        tags={FLOW_TAG: "retention"},
        run_config=retention_run_config(retention_job, dry_run=dry_run),
    )
    return summarize_retention(result, kinds_of(retention_job), dry_run=dry_run)


def summarize_retention(result: Any, kinds: dict[str, str], *, dry_run: bool) -> RetentionSummary:
    """The counts each step (op name -> kind in `kinds`) recorded: its output's metadata, or the
    metadata of its failure."""
    run = summarize(result)
    summary = RetentionSummary(run_id=run.run_id, success=run.success, dry_run=dry_run, failures=run.failures)
    summary.counts = dict.fromkeys(kinds.values())
    for event in result.all_events:
        if event.is_successful_output:
            metadata = event.step_output_data.metadata
        elif event.is_step_failure and event.step_failure_data.user_failure_data is not None:
            metadata = event.step_failure_data.user_failure_data.metadata
        else:
            continue
        kind = kinds.get(event.step_key or "")
        if kind is None or "counts" not in metadata:
            continue
        summary.details[kind] = {name: int(n) for name, n in metadata["counts"].value.items()}
        summary.counts[kind] = metadata[kind].value
        if "kept_latest_materializations" in metadata:
            summary.kept_runs = metadata["kept_latest_materializations"].value
    return summary


def format_summary(summary: RetentionSummary) -> list[str]:
    """Lines for a person: per kind how many went (or would go), and from where."""
    outcome = "succeeded" if summary.success else "FAILED"
    lines = [f"retention run {summary.run_id}: {outcome}" + (" (dry run: nothing deleted)" if summary.dry_run else "")]
    verb = "would be deleted" if summary.dry_run else "deleted"
    width = max(len(kind) for kind in summary.counts)
    for kind, total in summary.counts.items():
        if total is None:
            lines.append(f"  {kind:<{width}}  not counted (its step failed)")
            continue
        parts = [f"{name} {n}" for name, n in sorted(summary.details.get(kind, {}).items())]
        if kind == "runs" and summary.kept_runs:
            parts.append(f"{summary.kept_runs} past their age kept: an asset's latest materialization")
        lines.append(f"  {kind:<{width}}  {total:>7} {verb}" + (f"  ({', '.join(parts)})" if parts else ""))
    lines += [f"  failure: {failure}" for failure in summary.failures]
    return lines
