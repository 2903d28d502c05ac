"""Where things live, from the environment: one place for every path and location the pipeline uses.

Two deployments, one code. Embedded (the default, one machine): SQLite, DuckDB and files under the data
dir. Production: `SONET_PIPELINE_POSTGRES_DSN` puts everything durable in PostgreSQL (Dagster's storage,
the tenant stores and their snapshots, the outbox, the leases, the shop's catalogue cache), and
`SONET_PIPELINE_S3_URL` puts files in S3 (the audit archive, published shop files without their own
`publish_to`). Nothing a later run needs then stays on a worker's disk. `SONET_PIPELINE_BROKER_URL` hands
the runs' steps to a pool of workers (`sonet-pipeline worker`, `jobs/executor.py`).
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
#: The Celery broker that hands runs' steps to `sonet-pipeline worker`s; unset: steps run in the run's process.
BROKER_URL_ENV = "SONET_PIPELINE_BROKER_URL"
#: Where workers leave each step's result; default: the broker itself for Redis, `rpc://` for RabbitMQ.
RESULT_BACKEND_ENV = "SONET_PIPELINE_RESULT_BACKEND"
#: The longest a step may run on a worker, in seconds: a worker stops it then, and the step of a worker
#: that died is handed to another shortly after (`jobs/executor.py`).
STEP_TIME_LIMIT_ENV = "SONET_PIPELINE_STEP_TIME_LIMIT"
DEFAULT_STEP_TIME_LIMIT = 600
#: How many tenants share one step of the minute sync (one worker task with the celery executor); default 1.
SYNC_SHARD_SIZE_ENV = "SONET_PIPELINE_SYNC_SHARD_SIZE"
#: `1`: `pipes` extensions that name a `function` run on AWS Lambda (docs/extensions.md); else as subprocesses.
EXTENSIONS_LAMBDA_ENV = "SONET_PIPELINE_EXTENSIONS_LAMBDA"
_REDIS = ("redis", "rediss")
_BROKERS = (*_REDIS, "amqp", "amqps", "pyamqp")


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


def broker_url() -> str | None:
    """The Celery broker (`redis://...` or `amqp://...`) runs hand their steps to, or None: in process."""
    value = os.environ.get(BROKER_URL_ENV) or None
    if value is not None and _scheme(value) not in _BROKERS:
        raise ValueError(
            f"{BROKER_URL_ENV} must be a redis:// or amqp:// URL (e.g. redis://127.0.0.1:6379/0), "
            f"got {_scheme(value) or 'no scheme'}://..."
        )
    return value


def result_backend() -> str | None:
    """Where workers leave step results (`SONET_PIPELINE_RESULT_BACKEND`; default the Redis broker itself,
    `rpc://` over RabbitMQ), or None when there is no broker."""
    broker, value = broker_url(), os.environ.get(RESULT_BACKEND_ENV) or None
    if broker is None:
        if value is not None:
            raise ValueError(f"{RESULT_BACKEND_ENV} is set but {BROKER_URL_ENV} is not: set both, or neither")
        return None
    if value is None:
        return broker if _scheme(broker) in _REDIS else "rpc://"
    if _scheme(value) not in (*_REDIS, "rpc") and not _scheme(value).startswith("db+"):
        raise ValueError(
            f"{RESULT_BACKEND_ENV} must be a redis://, rpc:// or db+postgresql:// URL, "
            f"got {_scheme(value) or 'no scheme'}://..."
        )
    return value


def extensions_lambda() -> bool:
    """Whether `pipes` extensions run on AWS Lambda where they name a function (`SONET_PIPELINE_EXTENSIONS_LAMBDA`)."""
    text = (os.environ.get(EXTENSIONS_LAMBDA_ENV) or "0").strip().lower()
    if text not in ("0", "1", "true", "false"):
        raise ValueError(f"{EXTENSIONS_LAMBDA_ENV} must be 1 or 0, got {text!r}")
    return text in ("1", "true")


def step_time_limit() -> int:
    """Seconds a step may run on a worker (`SONET_PIPELINE_STEP_TIME_LIMIT`, default 600)."""
    text = os.environ.get(STEP_TIME_LIMIT_ENV) or str(DEFAULT_STEP_TIME_LIMIT)
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{STEP_TIME_LIMIT_ENV} must be a whole number of seconds, 1 or more, got {text!r}")
    return int(text)


def sync_shard_size() -> int:
    """Tenants per step of the minute sync (`SONET_PIPELINE_SYNC_SHARD_SIZE`, default 1: a step per tenant)."""
    value = (os.environ.get(SYNC_SHARD_SIZE_ENV) or "1").strip()
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{SYNC_SHARD_SIZE_ENV} must be a whole number of tenants, 1 or more, got {value!r}")
    return int(value)


def _scheme(url: str) -> str:
    """The scheme of `url`, lower case; never the rest (a broker URL may carry a password)."""
    scheme, separator, _ = url.partition("://")
    return scheme.lower() if separator else ""


def locks_dir() -> Path:
    return data_dir() / "locks"
