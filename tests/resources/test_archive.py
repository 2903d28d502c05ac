"""The archive resource: a folder under the data dir by default, the S3 prefix `<SONET_PIPELINE_S3_URL>/archive/`
(dagster-aws's `S3Resource`, moto here) in production; bound in the definitions, where the retention job
prunes each tenant's archive by the tenant's `archive_days` through it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from dagster import build_resources
from dagster_aws.s3 import S3Resource
from moto import mock_aws

from sonet_pipeline.cli.runs.retention import run_retention
from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.config import settings
from sonet_pipeline.config.tenants import load_tenants
from sonet_pipeline.definitions import build_definitions
from sonet_pipeline.jobs.cli_runs import prepare_instance
from sonet_pipeline.resources.archive import ArchiveResource
from sonet_pipeline.sonet.message import ACCEPTED, SendOutcome

NOW = datetime(2027, 3, 1, 3, 15, tzinfo=UTC)
DAY = timedelta(days=1)
MID = "6f0c4a3e-1c1e-4f43-9d3c-3a6d1e2b7c10"


def archived(resource: ArchiveResource, tenant: str, at: datetime, message_id: str = MID) -> None:
    archive = resource.for_tenant(tenant)
    entry = archive.entry(message_id, 1, at, order_number="WEB-1", order_version=1)
    archive.record_request(entry, b"<SalesOrder/>")
    outcome = SendOutcome(ACCEPTED, 201, body=b"<MessageReceipt/>")
    archive.record_answer(entry, outcome, xml=b"<SalesOrder/>", answered_at=at)


def archive_failures(failures: list[str]) -> list[str]:
    """The archive op's failures (the job's other kinds, e.g. the store's history, are not this test's)."""
    return [failure for failure in failures if failure.startswith("retention_archive")]


def test_without_an_s3_url_the_archive_is_a_folder_under_the_data_dir() -> None:
    with build_resources({"archive": ArchiveResource(s3=S3Resource())}) as resources:
        resource = resources.archive
        archived(resource, "acme", NOW)
        assert resource.archive().describe() == (settings.data_dir() / "archive").as_uri()
    assert (settings.data_dir() / "archive" / "acme" / MID).is_dir()


def test_with_an_s3_url_the_archive_is_under_its_archive_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    """`s3_url` as the definitions bind it from `SONET_PIPELINE_S3_URL`: objects under `<prefix>/archive/`."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv(settings.S3_URL_ENV, "s3://prod-files/sonet/")
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="prod-files")
        resource = build_definitions(load_tenants()).resources["archive"]
        assert isinstance(resource, ArchiveResource) and resource.s3_url == "s3://prod-files/sonet"
        archived(resource, "acme", NOW)
        listed = boto3.client("s3", region_name="us-east-1").list_objects_v2(Bucket="prod-files")["Contents"]
        assert resource.for_tenant("acme").location(MID) == f"s3://prod-files/sonet/archive/acme/{MID}"
    keys = sorted(item["Key"] for item in listed)
    *files, marker = keys
    assert marker == f"sonet/archive/acme/by-day/2027-03-01/{MID}"
    stem = f"sonet/archive/acme/{MID}/001-20270301T031500.000000Z"
    assert files == [f"{stem}.answer.body", f"{stem}.answer.json", f"{stem}.request.xml"]


def test_the_retention_job_prunes_each_tenants_archive_by_its_age(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Through the definitions' retention job: acme (archive_days 30) loses what it sent 31 days ago and
    keeps what it sent 29 days ago; nordic (the deployment's 365 days) keeps both; a dry run counts the
    same and deletes nothing. (Only the archive op is judged here.)"""
    path = tmp_path / "tenants.yaml"
    path.write_text(
        "tenants:\n"
        "  - name: acme\n    sonet: {base_url: 'http://127.0.0.1:9', company: '01', token_env: T1}\n"
        "    retention: {archive_days: 30}\n"
        "  - name: nordic\n    sonet: {base_url: 'http://127.0.0.1:9', company: '02', token_env: T2}\n"
    )
    monkeypatch.setenv("T1", "x")
    monkeypatch.setenv("T2", "x")
    monkeypatch.setenv(settings.TENANTS_ENV, str(path))
    defs = build_definitions(load_tenants(), clock=ManualClock(NOW))
    resource = defs.resources["archive"]
    assert isinstance(resource, ArchiveResource)
    other = "0b6f2f7e-5d1c-4c55-9a57-3f1b1c9a0e21"
    for tenant in ("acme", "nordic"):
        archived(resource, tenant, NOW - 31 * DAY)
        archived(resource, tenant, NOW - 29 * DAY, other)
    dry = run_retention(defs, prepare_instance(), dry_run=True)
    assert not archive_failures(dry.failures), dry.failures
    assert dry.details["archive_objects"] == {"acme": 3, "nordic": 0}
    assert len(resource.for_tenant("acme").list(MID)) == 1
    real = run_retention(defs, prepare_instance(), dry_run=False)
    assert not archive_failures(real.failures) and real.details["archive_objects"] == {"acme": 3, "nordic": 0}
    assert resource.for_tenant("acme").list(MID) == [] and len(resource.for_tenant("acme").list(other)) == 1
    assert len(resource.for_tenant("nordic").list(MID)) == 1
