"""Three tenants no Sonet answers for (acme, nordic, borealis; a minute's cadence each), what a sync that
changed nothing records for one of them, and a run of the freshness checks: for the freshness tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance, Definitions

from sonet_pipeline.assets.tenant_sync import TenantSync
from sonet_pipeline.common.clock import Clock
from sonet_pipeline.jobs.cli_runs import execute_job
from sonet_pipeline.jobs.sync import FRESHNESS_JOB
from sonet_pipeline.store.publication_gate import Verdict

TENANTS = ("acme", "nordic", "borealis")


def write_tenants(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = folder / "tenants.yaml"
    lines = ["tenants:"]
    for index, name in enumerate(TENANTS):
        lines.append(
            f"  - {{name: {name}, sonet: {{base_url: 'http://127.0.0.1:9', company: '0{index + 1}', token_env: T}}}}"
        )
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("T", "placeholder")
    return path


def synced(instance: DagsterInstance, tenant: str, clock: Clock) -> None:
    """What a successful sync that changed nothing records: its `sync` observation, nothing else."""
    observation = TenantSync(tenant, verdict=Verdict(findings={}), finished_at=clock.now()).observation()
    assert observation is not None
    instance.report_runless_asset_event(observation)


def evaluations(defs: Definitions, instance: DagsterInstance, request: Any = None) -> dict[str, Any]:
    """A run of the freshness job (of the checks a sensor's `request` names); its evaluations by tenant."""
    checks = list(request.asset_check_keys) if request is not None else None
    result = execute_job(defs.resolve_job_def(FRESHNESS_JOB), instance, asset_check_selection=checks)
    assert result.success
    return {e.asset_key.path[0]: e for e in result.get_asset_check_evaluations()}
