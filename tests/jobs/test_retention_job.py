"""The retention job, through Dagster as the schedule and the CLI run it: every kind pruned by each
tenant's ages, the counts as metadata, a dry run that counts the same and deletes nothing, a tenant
kept forever, and one tenant's failure that leaves the others done.

The store's `prune_history` is stood in for here (it belongs to the store; its own tests are there):
what matters is that the job calls it for each entity of each tenant with the tenant's cutoff, under
the tenant's store lease.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import DefaultScheduleStatus, Definitions

from sonet_pipeline.cli.runs.retention import run_retention
from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.common.leases import FileLease
from sonet_pipeline.config import settings
from sonet_pipeline.config.tenants import load_tenants
from sonet_pipeline.definitions import build_definitions
from sonet_pipeline.jobs.cli_runs import prepare_instance
from sonet_pipeline.jobs.retention import RETENTION_JOB, build_retention_job
from sonet_pipeline.outbox import SENT, open_outbox
from sonet_pipeline.sonet.entities import SYNCED
from sonet_pipeline.store import TenantStore
from tests.outbox.helpers import order

NOW = datetime(2027, 3, 1, 3, 15, tzinfo=UTC)
DAY = timedelta(days=1)

TENANTS = """
tenants:
  - name: acme
    sonet: {base_url: "http://127.0.0.1:9", company: "01", token_env: T1}
    retention: {settled_orders_days: 30, history_days: 10}
  - name: nordic
    sonet: {base_url: "http://127.0.0.1:9", company: "02", token_env: T2}
  - name: baltic
    sonet: {base_url: "http://127.0.0.1:9", company: "03", token_env: T3}
    retention: {settled_orders_days: forever, history_days: forever, archive_days: forever}
"""


@pytest.fixture
def tenants(tmp_path: Path, monkeypatch):
    path = tmp_path / "tenants.yaml"
    path.write_text(TENANTS)
    for variable in ("T1", "T2", "T3"):
        monkeypatch.setenv(variable, "x")
    monkeypatch.setenv(settings.TENANTS_ENV, str(path))
    return load_tenants(path)


def leased_tenant() -> str:
    """The one tenant whose store lease is held now (by the job, around its call into the store)."""
    [tenant] = [t for t in ("acme", "nordic", "baltic") if FileLease(settings.locks_dir(), f"store-{t}").holder()]
    return tenant


@pytest.fixture
def history(monkeypatch):
    """Stands in for `TenantStore.prune_history`: records each call (the tenant whose store lease is
    held meanwhile, entity, cutoff, dry run) and answers 2 rows an entity."""
    calls: list[tuple[str, str, datetime, bool]] = []

    def prune_history(store, entity, before, *, dry_run=False):
        calls.append((leased_tenant(), entity, before, dry_run))
        return 2

    monkeypatch.setattr(TenantStore, "prune_history", prune_history, raising=False)
    return calls


def sent_on(outbox, tenant: str, number: str, when: datetime) -> str:
    message_id = outbox.enqueue(tenant, order(number), actor="intake", now=when).message_id
    outbox.claim(tenant, now=when, limit=1, owner="run", claim_seconds=60)
    outbox.mark_sent(message_id, sonet_order_number=f"SO-{number}", duplicate=False, actor="run", now=when)
    return message_id


def fill_outbox() -> dict[str, list[str]]:
    """Per tenant, messages sent 100 and 50 days before NOW; one pending 100 days old; and a tenant
    the file no longer lists."""
    ids: dict[str, list[str]] = {}
    with open_outbox(settings.postgres_dsn()) as outbox:
        for tenant in ("acme", "nordic", "baltic", "gone"):
            ids[tenant] = [
                sent_on(outbox, tenant, "OLD", NOW - 100 * DAY),
                sent_on(outbox, tenant, "RECENT", NOW - 50 * DAY),
                outbox.enqueue(tenant, order("WAITING"), actor="intake", now=NOW - 100 * DAY).message_id,
            ]
    return ids


def remaining(ids: dict[str, list[str]]) -> dict[str, list[str]]:
    with open_outbox(settings.postgres_dsn()) as outbox:
        return {tenant: [i for i in found if outbox.get(i) is not None] for tenant, found in ids.items()}


def test_each_kind_is_pruned_by_each_tenants_ages(tenants, history):
    """acme (30 days for orders, 10 for history), nordic (deployment defaults: 90 and 90), baltic
    (forever), and `gone`, known only to the outbox (the deployment's 90): the counts per kind and
    tenant, in the summary and as the steps' metadata; pending messages stay whatever their age."""
    ids = fill_outbox()
    defs = build_definitions(tenants, clock=ManualClock(NOW))
    instance = prepare_instance()
    summary = run_retention(defs, instance, dry_run=False)

    assert summary.success, summary.failures
    assert summary.counts["outbox_rows"] == 4 and summary.counts["history_rows"] == 2 * 2 * len(SYNCED)
    assert summary.details["outbox_rows"] == {"acme": 2, "nordic": 1, "gone": 1}
    assert remaining(ids) == {
        "acme": [ids["acme"][2]],
        "nordic": ids["nordic"][1:],
        "baltic": ids["baltic"],
        "gone": ids["gone"][1:],
    }
    assert {(tenant, before) for tenant, _, before, _ in history} == {
        ("acme", NOW - 10 * DAY),
        ("nordic", NOW - 90 * DAY),
    }
    assert {entity for _, entity, _, _ in history} == set(SYNCED)
    acme = {"outbox_rows": 2, "history_rows": 2 * len(SYNCED), "archive_objects": 0}  # the archive is bound
    assert summary.as_json()["tenants"]["acme"] == acme

    [step] = [
        event
        for event in instance.all_logs(summary.run_id)
        if event.dagster_event
        and event.dagster_event.is_successful_output
        and event.dagster_event.step_key == "retention_settled_orders"
    ]
    metadata = step.dagster_event.step_output_data.metadata
    assert metadata["outbox_rows"].value == 4 and metadata["acme"].value == 2 and metadata["gone"].value == 1
    assert "kept forever" in metadata["ages"].value
    with open_outbox(settings.postgres_dsn()) as outbox:
        assert outbox.status(NOW)["tenants"]["acme"][SENT] == 0


def test_a_dry_run_counts_what_the_real_run_deletes_and_deletes_nothing(tenants, history):
    """The dry run's counts per kind and tenant are those of the real run that follows, and after the
    dry run every message is still there (and `prune_history` was asked to count only)."""
    ids = fill_outbox()
    defs = build_definitions(tenants, clock=ManualClock(NOW))
    instance = prepare_instance()
    dry = run_retention(defs, instance, dry_run=True)
    assert dry.success and dry.dry_run
    assert remaining(ids) == ids
    assert history and all(dry_run for *_, dry_run in history)
    real = run_retention(defs, instance, dry_run=False)
    assert real.success
    assert {kind: dry.counts[kind] for kind in ("outbox_rows", "history_rows")} == {
        kind: real.counts[kind] for kind in ("outbox_rows", "history_rows")
    }
    assert dry.details["outbox_rows"] == real.details["outbox_rows"]
    assert dry.counts["runs"] == 0 and real.counts["runs"] == 1, "the dry run's own run, past 1 day by NOW"


def test_one_tenants_failure_leaves_the_others_done_and_fails_the_run(tenants, monkeypatch):
    """nordic's history cannot be pruned: acme's is, the other kinds are, and the run fails naming
    nordic and the cause (the counts that were made are still reported)."""

    def prune_history(store, entity, before, *, dry_run=False):
        if leased_tenant() == "nordic":
            raise RuntimeError("the history table is locked")
        return 1

    monkeypatch.setattr(TenantStore, "prune_history", prune_history, raising=False)
    fill_outbox()
    summary = run_retention(build_definitions(tenants, clock=ManualClock(NOW)), prepare_instance(), dry_run=False)
    assert not summary.success
    [failure] = summary.failures
    assert failure.startswith("retention_store_history:") and "nordic" in failure and "locked" in failure
    assert "acme" not in failure
    assert summary.details["history_rows"] == {"acme": len(SYNCED)}
    assert summary.counts["outbox_rows"] == 4


def test_the_job_is_bound_in_the_definitions_with_its_schedule(tenants):
    """The code location carries the retention job and its daily schedule, running by default."""
    defs = build_definitions(tenants)
    assert defs.resolve_job_def(RETENTION_JOB).name == RETENTION_JOB
    schedule = defs.resolve_schedule_def("sonet_retention_daily")
    assert schedule.cron_schedule == "15 3 * * *" and schedule.default_status == DefaultScheduleStatus.RUNNING


class FakeArchives:
    """Stands in for the archive resource: each tenant's archive counts 3 objects older than the cutoff."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, datetime, bool]] = []

    def for_tenant(self, tenant: str) -> FakeArchives.Archive:
        return FakeArchives.Archive(self, tenant)

    class Archive:
        def __init__(self, owner: FakeArchives, tenant: str) -> None:
            self.owner, self.tenant = owner, tenant

        def prune(self, before: datetime, *, dry_run: bool = False) -> int:
            self.owner.calls.append((self.tenant, before, dry_run))
            return 3


def test_with_an_archive_each_tenants_archive_is_pruned_by_its_age(tenants, history):
    """With the archive op (an `archive` resource bound): each tenant's archive pruned at its own
    cutoff (the deployment's 365 days where the tenant sets none), none for a tenant kept forever; the
    count reported as `archive_objects`, dry or not as asked."""
    archives = FakeArchives()
    base = build_definitions(tenants, clock=ManualClock(NOW))
    defs = Definitions(
        jobs=[build_retention_job(tenants, archive=True)], resources={**base.resources, "archive": archives}
    )
    dry = run_retention(defs, prepare_instance(), dry_run=True)
    assert dry.success, dry.failures
    assert dry.counts["archive_objects"] == 6 and dry.details["archive_objects"] == {"acme": 3, "nordic": 3}
    assert sorted(archives.calls) == [("acme", NOW - 365 * DAY, True), ("nordic", NOW - 365 * DAY, True)]
    assert dry.as_json()["tenants"]["nordic"]["archive_objects"] == 3
