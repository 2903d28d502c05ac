"""Where things live on disk, from the environment: one place for every path the pipeline uses."""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

DATA_DIR_ENV = "SONET_PIPELINE_DATA_DIR"
TENANTS_ENV = "SONET_PIPELINE_TENANTS"
#: PostgreSQL for the outbox and the leases (several machines); unset: SQLite and files locally.
POSTGRES_DSN_ENV = "SONET_PIPELINE_POSTGRES_DSN"


def data_dir() -> Path:
    """The folder of local stores (`SONET_PIPELINE_DATA_DIR`, default `./.data`), made absolute."""
    return Path(os.environ.get(DATA_DIR_ENV) or ".data").expanduser().resolve()


def dagster_home() -> Path:
    """The Dagster instance (`DAGSTER_HOME`, default `<data dir>/dagster`)."""
    configured = os.environ.get("DAGSTER_HOME")
    return Path(configured).expanduser().resolve() if configured else data_dir() / "dagster"


def demo_tenants_file() -> Path:
    """The demo tenants shipped with the package."""
    return Path(str(files("sonet_pipeline.config").joinpath("tenants_demo", "tenants.yaml")))


def tenants_path() -> Path:
    """The tenants file or folder (`SONET_PIPELINE_TENANTS`, default the shipped demo tenants)."""
    configured = os.environ.get(TENANTS_ENV)
    return Path(configured).expanduser().resolve() if configured else demo_tenants_file()


def postgres_dsn() -> str | None:
    """The PostgreSQL DSN for the outbox and the leases, or None for the local defaults."""
    return os.environ.get(POSTGRES_DSN_ENV) or None


def locks_dir() -> Path:
    return data_dir() / "locks"
