"""Production mode: with `SONET_PIPELINE_POSTGRES_DSN` set, a new DAGSTER_HOME gets the production
`dagster.yaml`, and the sync and send runs go through it into PostgreSQL, not into local files.

Runs against the machine's PostgreSQL server, a database of their own per test.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import yaml

from sonet_pipeline.cli.runs.send import run_send
from sonet_pipeline.cli.runs.sync import run_sync
from sonet_pipeline.config import settings
from sonet_pipeline.config.tenants import load_tenants
from sonet_pipeline.contract import read_text
from sonet_pipeline.definitions import build_definitions
from sonet_pipeline.jobs.cli_runs import prepare_instance
from sonet_pipeline.jobs.instance import dagster_yaml
from sonet_pipeline.jobs.postgres_storage import dagster_url, libpq_dsn
from sonet_pipeline.outbox import SENT, open_outbox
from tests.standin.standin_http import SonetClient
from tests.tenants_file import write_acme_tenant

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

EXAMPLE = json.loads(read_text("examples/commerce-order-b2b.json"))


def write_tenants(sonet: SonetClient, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_acme_tenant(sonet, folder, monkeypatch, extra="    send_every_seconds: 10\n")


def test_the_dagster_yaml_names_the_dsn_variable_and_never_a_password():
    written = dagster_yaml(postgres=True)
    storage = yaml.safe_load(written)["storage"]["custom"]
    assert storage["module"] == "sonet_pipeline.jobs.postgres_storage"
    assert storage["config"]["dsn"] == {"env": settings.POSTGRES_DSN_ENV}
    assert "password:" not in written and "@" not in written
    assert "storage" not in yaml.safe_load(dagster_yaml(postgres=False))


@pytest.mark.parametrize(
    ("dsn", "url"),
    [
        ("postgresql://u:p@db:5432/sonet", "postgresql+psycopg2://u:p@db:5432/sonet?options=-csearch_path%3Ddagster"),
        (
            "postgres://u@db/sonet?sslmode=require&options=-cstatement_timeout%3D5000",
            "postgresql+psycopg2://u@db/sonet?sslmode=require&options=-csearch_path%3Ddagster",
        ),
    ],
)
def test_dagster_gets_psycopg2_and_its_own_schema(dsn: str, url: str):
    assert dagster_url(dsn) == url
    assert libpq_dsn(url).startswith("postgresql://")


def test_a_dsn_that_is_not_postgresql_is_named():
    with pytest.raises(ValueError, match="starts with postgresql://, got mysql://"):
        dagster_url("mysql://u@db/x")


def test_sync_and_send_runs_go_through_the_production_instance_into_postgresql(
    sonet, tmp_path, monkeypatch, postgres_database
):
    """A new DAGSTER_HOME gets the production dagster.yaml; a sync run and a send run through it are
    stored in PostgreSQL's `dagster` schema (none in SQLite files), and the order reaches Sonet once."""
    monkeypatch.setenv(settings.POSTGRES_DSN_ENV, postgres_database)
    write_tenants(sonet, tmp_path, monkeypatch)
    tenants = load_tenants()
    defs = build_definitions(tenants, clock=sonet.clock)
    instance = prepare_instance()
    home = settings.dagster_home()
    assert "PipelinePostgresStorage" in (home / "dagster.yaml").read_text()

    assert run_sync(defs, instance, tenants, now=datetime.now(UTC)).success
    order = copy.deepcopy(EXAMPLE)
    order["orderNumber"] = "WEB-PROD-1"
    with open_outbox(settings.postgres_dsn()) as outbox:
        (enqueued,) = outbox.enqueue_many("acme", [order], actor="test", now=sonet.clock.now())
    summary = run_send(defs, instance, tenants)
    assert summary.success, summary.failures

    with open_outbox(settings.postgres_dsn()) as outbox:
        assert outbox.get(enqueued.message_id).state == SENT
    accepted = [o["messageId"] for o in sonet.admin_json("GET", "/companies/01/orders")]
    assert accepted == [enqueued.message_id]
    with psycopg.connect(postgres_database) as connection:
        jobs = [name for (name,) in connection.execute("SELECT pipeline_name FROM dagster.runs ORDER BY id")]
        events = connection.execute("SELECT count(*) FROM dagster.event_logs").fetchone()
    assert jobs == ["sonet_sync", "sonet_send"]
    assert events is not None and events[0] > 0
    assert not list(home.glob("**/*.db")), "no SQLite storage beside the production instance"
