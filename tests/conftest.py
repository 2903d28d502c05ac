"""Shared test fixtures and the rule for things outside the repo.

A test that needs something outside the repo (`../shared`, PostgreSQL) skips with its reason where
that is absent, as in a user's clone; under CI (`CI=true`) its absence fails instead.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.partner_package import partner_extensions  # noqa: F401 - the sample partner package, for any test

REPO = Path(__file__).resolve().parent.parent
SHARED_CONTRACT = REPO.parent / "shared" / "sonet-contract"
#: The PostgreSQL server the tests use (the machine's, trust auth); `SONET_TEST_POSTGRES_DSN` to point elsewhere.
POSTGRES_DSN = os.environ.get("SONET_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


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


@pytest.fixture
def start_standin():
    """Start stand-ins over real HTTP, on ports chosen at run time, each with a ManualClock; stopped after the test.

    `start_standin(...)` takes a `StandinConfig` or the options of `tests.standin.standin_http.config`.
    """
    from sonet_pipeline.common.clock import ManualClock
    from sonet_pipeline.standin.boot import build_standin
    from sonet_pipeline.standin.server import RunningStandin
    from tests.standin.standin_http import START, SonetClient, config

    running: list[RunningStandin] = []

    def start(standin_config=None, **options) -> SonetClient:
        clock = ManualClock(START)
        standin = build_standin(standin_config or config(**options), clock)
        server = RunningStandin(standin).start()
        running.append(server)
        return SonetClient(server.base_url, standin, clock, stop=server.stop)

    yield start
    for server in running:
        server.stop()


@pytest.fixture
def sonet(start_standin):
    """A stand-in with the test defaults: one company, a few hundred items, unthrottled, no faults."""
    return start_standin()


@functools.cache
def postgres_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_DSN, connect_timeout=3):
            return True
    except Exception:
        return False


def require_postgres() -> str:
    """The test server's DSN; skip (fail under CI) where it is not reachable."""
    require_outside(postgres_reachable(), f"PostgreSQL is not reachable at {POSTGRES_DSN}")
    return POSTGRES_DSN


@pytest.fixture
def postgres_schema() -> Iterator[tuple[str, str]]:
    """(DSN, a throwaway schema name) on the test server; the schema is dropped after the test."""
    dsn = require_postgres()
    schema = f"test_{uuid.uuid4().hex[:12]}"
    yield dsn, schema
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """The DSN of a database made for this test on the test server (production mode's everything in
    one database, with nothing of another test in it), dropped after the test."""
    dsn = require_postgres()
    import psycopg
    from psycopg import sql

    name = f"sonet_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _, _ = dsn.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


#: The region of the moto Secrets Manager the tests use (its ARNs name it).
AWS_TEST_REGION = "eu-west-1"


@pytest.fixture
def secretsmanager(monkeypatch):
    """A moto Secrets Manager client (`mock_aws`), with fake credentials and the region in the
    environment so that boto3's usual chain (and dagster-aws's resource) finds the same stand-in; the
    process's secret cache is empty before and after."""
    from moto import mock_aws

    from sonet_pipeline.config.secrets import SECRET_CACHE

    for variable in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", AWS_TEST_REGION)
    monkeypatch.setenv("AWS_REGION", AWS_TEST_REGION)
    SECRET_CACHE.clear()
    with mock_aws():
        import boto3

        yield boto3.client("secretsmanager", region_name=AWS_TEST_REGION)
    SECRET_CACHE.clear()
