"""Where things live, from the environment: one place for every path and location the pipeline uses.

Two deployments, one code. Embedded (the default, one machine): SQLite, DuckDB and files under the data
dir. Production: `SONET_PIPELINE_POSTGRES_DSN` puts everything durable in PostgreSQL (Dagster's storage,
the tenant stores and their snapshots, the outbox, the leases, the shop's catalogue cache), and
`SONET_PIPELINE_S3_URL` puts files in S3 (the audit archive, published shop files without their own
`publish_to`). Nothing a later run needs then stays on a worker's disk.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

DATA_DIR_ENV = "SONET_PIPELINE_DATA_DIR"
TENANTS_ENV = "SONET_PIPELINE_TENANTS"
#: PostgreSQL for everything durable (several machines); unset: SQLite, DuckDB and files locally.
POSTGRES_DSN_ENV = "SONET_PIPELINE_POSTGRES_DSN"
#: `s3://bucket/prefix` for files in production (archive, published files); unset: folders locally.
S3_URL_ENV = "SONET_PIPELINE_S3_URL"


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
    """The PostgreSQL DSN of production mode, or None for the embedded defaults."""
    return os.environ.get(POSTGRES_DSN_ENV) or None


def production() -> bool:
    """Whether everything durable lives in PostgreSQL (`SONET_PIPELINE_POSTGRES_DSN` is set)."""
    return postgres_dsn() is not None


def s3_url() -> str | None:
    """`s3://bucket/prefix` where production keeps files, or None for folders under the data dir."""
    value = os.environ.get(S3_URL_ENV) or None
    if value is not None and not value.startswith("s3://"):
        raise ValueError(f"{S3_URL_ENV} must be an s3://bucket/prefix URL, got {value!r}")
    return value.rstrip("/") if value else None


def locks_dir() -> Path:
    return data_dir() / "locks"
