"""Shared test fixtures and the rule for things outside the repo.

A test that needs something outside the repo (`../shared`, PostgreSQL) skips with its reason where
that is absent, as in a user's clone; under CI (`CI=true`) its absence fails instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_CONTRACT = REPO.parent / "shared" / "sonet-contract"


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_outside(available: bool, reason: str) -> None:
    """Skip with `reason` when something outside the repo is missing; under CI, fail instead."""
    if available:
        return
    if under_ci():
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory, monkeypatch):
    """Every test gets its own data dir and Dagster home, never the developer's `./.data`."""
    data = tmp_path_factory.mktemp("data")
    monkeypatch.setenv("SONET_PIPELINE_DATA_DIR", str(data))
    monkeypatch.setenv("DAGSTER_HOME", str(data / "dagster"))
    yield data
