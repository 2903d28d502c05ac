"""The record of the alerts about failed runs: each observation of `sonet_alerts` holds the incidents
open at that moment (`sensors/run_failure_alerts.py` writes it, the alert sensor reads it for clears),
so the UI shows when each alert went out."""

from __future__ import annotations

from dagster import AssetKey, AssetSpec

ALERTS_KEY = AssetKey(["sonet_alerts"])


def alerts_spec() -> AssetSpec:
    return AssetSpec(
        ALERTS_KEY,
        description="Alerts sent about failed runs and refused credentials: each observation lists the open incidents.",
        group_name="alerts",
    )
