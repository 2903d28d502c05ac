"""`sonet-pipeline shop publish`: the shop job run now, through Dagster, for the stale files of some tenants.

Which files are stale is what the shop sensor asks too (`shop.stale.find_stale`): each tenant's sync
snapshot, the outbox, the manifest at its destination. The run
is stored in the instance, so it shows in the UI like a sensor's run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from dagster import DagsterInstance, Definitions

from sonet_pipeline.assets.shop import shop_selection
from sonet_pipeline.cli.runs.progress_watch import execute_shown
from sonet_pipeline.cli.runs.summary import RunSummary, summarize
from sonet_pipeline.cli.runs.tenant_leases import new_run_id
from sonet_pipeline.jobs.instance import FLOW_TAG
from sonet_pipeline.jobs.shop import SHOP_JOB
from sonet_pipeline.shop.inputs import FILES, TenantStaleness

#: Per published file, the figures `--json` shows (the run's other metadata is for the UI).
FILE_FIELDS = ("records", "bytes", "sha256", "changed")


@dataclass
class ShopSummary:
    """What a `shop publish` did: the run (None when nothing was stale), per tenant what it asked for."""

    requested: dict[str, list[str]]  # tenant -> files the run was asked to publish
    up_to_date: list[str]  # synced tenants with nothing to publish
    not_synced: list[str]  # tenants without a sync snapshot: nothing to publish from
    run: RunSummary | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)  # checks that did not pass

    @property
    def success(self) -> bool:
        return self.run is None or self.run.success

    def as_json(self) -> dict[str, Any]:
        tenants = {}
        for tenant, files in self.requested.items():
            figures = self.run.tenants.get(tenant, {}) if self.run else {}
            published = {f: {k: figures[f].get(k) for k in FILE_FIELDS} for f in files if f in figures}
            tenants[tenant] = {"destination": _destination_of(figures), "files": published}
        return {
            "run_id": self.run.run_id if self.run else None,
            "success": self.success,
            "tenants": tenants,
            "up_to_date": self.up_to_date,
            "not_synced": self.not_synced,
            "warnings": self.warnings,
            "failures": self.run.failures if self.run else [],
        }


def run_shop(
    defs: Definitions, instance: DagsterInstance, found: Sequence[TenantStaleness], *, progress: TextIO | None = None
) -> ShopSummary:
    """Publish the files `found` names now, in one run of the shop job; no run when none is stale. Its
    progress is drawn on `progress`, a terminal, when given."""
    requested = {t.tenant: t.files for t in found if t.files}
    summary = ShopSummary(
        requested=requested,
        up_to_date=[t.tenant for t in found if t.inputs is not None and not t.files],
        not_synced=[t.tenant for t in found if t.inputs is None],
    )
    if not requested:
        return summary
    assets, checks = shop_selection(requested)
    result = execute_shown(
        defs.resolve_job_def(SHOP_JOB),
        instance,
        progress=progress,
        run_id=new_run_id(),
        tags={FLOW_TAG: "shop"},
        asset_selection=assets,
        asset_check_selection=checks,
    )
    summary.run = summarize(result)
    summary.warnings = [
        {
            "tenant": evaluation.asset_key.path[0],
            "file": evaluation.asset_key.path[-1],
            "check": evaluation.check_name,
            "description": evaluation.description,
        }
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.passed
    ]
    return summary


def format_summary(summary: ShopSummary) -> list[str]:
    """Lines for a person: per tenant, each file published with its records and whether it changed."""
    lines = []
    if summary.run is None:
        fresh = summary.up_to_date
        lines.append("nothing to publish" + (f": the shop files of {', '.join(fresh)} are up to date" if fresh else ""))
    else:
        run = summary.run
        lines.append(f"shop run {run.run_id}: {'succeeded' if run.success else 'FAILED'}")
        for tenant, files in sorted(summary.requested.items()):
            figures = run.tenants.get(tenant, {})
            if not figures:
                lines.append(f"  {tenant}: not published ({', '.join(files)})")
                continue
            lines.append(f"  {tenant}: {_destination_of(figures)}")
            width = max(len(f"{file}.jsonl") for file in FILES)
            for file in files:
                if file not in figures:
                    lines.append(f"    {file + '.jsonl':<{width}}  not published")
                    continue
                done = "written" if figures[file].get("changed") else "unchanged (same bytes, not rewritten)"
                lines.append(f"    {file + '.jsonl':<{width}}  {figures[file].get('records', '?'):>7} records  {done}")
        for warning in summary.warnings:
            lines.append(f"  warning: {warning['tenant']} {warning['check']}: {warning['description'] or 'failed'}")
        lines += [f"  failure: {failure}" for failure in run.failures]
        lines += [f"{tenant}: up to date, nothing to publish" for tenant in summary.up_to_date]
    lines += [f"{tenant}: not synced yet, nothing to publish" for tenant in summary.not_synced]
    return lines


def _destination_of(figures: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The tenant's destination, from a published file's `published_to` (`<destination>/<file>.jsonl`)."""
    for file_figures in figures.values():
        if isinstance(url := file_figures.get("published_to"), str):
            return url.rsplit("/", 1)[0]
    return None
