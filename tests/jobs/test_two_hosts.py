"""Production mode from two hosts in turn: nothing a later run needs stays on a worker's disk.

Host A syncs, publishes the shop and sends an order; its data dir is then deleted. Host B, with a
data dir and DAGSTER_HOME of its own and the same PostgreSQL and S3 (moto), carries on: its sync is
a delta from A's high-water marks (not a second initial load), the shop's files A published are up
to date for it, and it sends the order enqueued meanwhile. Sonet holds each order exactly once.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sonet_pipeline.cli.runs.send import run_send
from sonet_pipeline.cli.runs.shop import run_shop
from sonet_pipeline.cli.runs.sync import run_sync
from sonet_pipeline.config import settings
from sonet_pipeline.config.tenants import Tenant, load_tenants
from sonet_pipeline.contract import read_text
from sonet_pipeline.definitions import build_definitions
from sonet_pipeline.jobs.cli_runs import prepare_instance
from sonet_pipeline.outbox import SENT, open_outbox
from sonet_pipeline.shop.inputs import FILES, ORDER_STATUS
from sonet_pipeline.shop.publish import destination_for
from sonet_pipeline.shop.stale import find_stale
from tests.standin.standin_http import SonetClient
from tests.tenants_file import write_acme_tenant

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

EXAMPLE = json.loads(read_text("examples/commerce-order-b2b.json"))


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    for variable, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(variable, value)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="files")
        yield client


class Host:
    """One worker host: its own data dir and Dagster home, the deployment's database and bucket."""

    def __init__(self, root: Path, sonet: SonetClient, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        monkeypatch.setenv(settings.DATA_DIR_ENV, str(root))
        monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster"))
        self.sonet = sonet
        self.tenants = load_tenants()
        self.defs = build_definitions(self.tenants, clock=sonet.clock)
        self.instance = prepare_instance()

    def sync(self) -> dict[str, Any]:
        summary = run_sync(self.defs, self.instance, self.tenants, now=datetime.now(UTC))
        assert summary.success, summary.failures
        return summary.tenants["acme"]

    def stale(self, s3: Any) -> list[str]:
        with open_outbox(settings.postgres_dsn()) as outbox:
            found = find_stale(self.tenants, outbox, lambda t: destination(t, s3))
        return found[0].files

    def publish(self, s3: Any) -> None:
        with open_outbox(settings.postgres_dsn()) as outbox:
            found = find_stale(self.tenants, outbox, lambda t: destination(t, s3))
        assert run_shop(self.defs, self.instance, found).success

    def send(self) -> dict[str, Any]:
        summary = run_send(self.defs, self.instance, self.tenants)
        assert summary.success, summary.failures
        return summary.tenants["acme"]["messages_delivered"]


def destination(tenant: Tenant, s3: Any) -> Any:
    return destination_for(tenant.name, tenant.shop.publish_to, s3_client=lambda: s3)


def enqueue(sonet: SonetClient, number: str) -> str:
    order = copy.deepcopy(EXAMPLE)
    order["orderNumber"] = number
    with open_outbox(settings.postgres_dsn()) as outbox:
        (enqueued,) = outbox.enqueue_many("acme", [order], actor="test", now=sonet.clock.now())
    return enqueued.message_id


def test_a_second_host_carries_on_from_the_first_with_nothing_of_its_disk(
    sonet, tmp_path, monkeypatch, postgres_database, s3
):
    monkeypatch.setenv(settings.POSTGRES_DSN_ENV, postgres_database)
    monkeypatch.setenv(settings.S3_URL_ENV, "s3://files/prod")
    write_acme_tenant(sonet, tmp_path, monkeypatch)

    host_a = Host(tmp_path / "host-a", sonet, monkeypatch)
    first = host_a.sync()
    assert first["items"]["fetched"] > 100  # the initial load
    host_a.publish(s3)
    assert host_a.stale(s3) == []
    sent_by_a = enqueue(sonet, "WEB-HOST-A")
    assert host_a.send()["sent"] == 1
    shutil.rmtree(host_a.root)  # the host is gone, with everything on its disk

    host_b = Host(tmp_path / "host-b", sonet, monkeypatch)
    # A's sent order is now in Sonet's sales orders: only the order status is stale for B.
    second = host_b.sync()
    assert "items" not in second  # no item changed: not materialized, the sync observed
    assert second["sync"]["records_fetched"] < first["items"]["fetched"] / 10  # a delta from A's marks
    assert host_b.stale(s3) == [ORDER_STATUS]
    host_b.publish(s3)
    assert host_b.stale(s3) == []
    sent_by_b = enqueue(sonet, "WEB-HOST-B")
    assert host_b.send()["sent"] == 1

    with open_outbox(settings.postgres_dsn()) as outbox:
        assert {outbox.get(m).state for m in (sent_by_a, sent_by_b)} == {SENT}
    accepted = sorted(o["messageId"] for o in sonet.admin_json("GET", "/companies/01/orders"))
    assert accepted == sorted([sent_by_a, sent_by_b])
    published = {o["Key"] for o in s3.list_objects_v2(Bucket="files", Prefix="prod/published/acme/")["Contents"]}
    assert published == {f"prod/published/acme/{name}.jsonl" for name in FILES} | {"prod/published/acme/manifest.json"}
    archived = s3.list_objects_v2(Bucket="files", Prefix="prod/archive/acme/")
    assert archived.get("KeyCount", 0) > 0  # both hosts' attempts in the one archive
