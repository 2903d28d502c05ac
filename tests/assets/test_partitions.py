"""Partitions that tell the truth (`docs/partitions.md`): the inbound assets are partitioned by month of
`dateModified`; a read to now records every month it covered that the instance does not show yet,
once; a backfill of chosen months re-reads exactly their windows and records exactly those months.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dagster import AssetKey, AssetPartitionStatus, DagsterInstance

from sonet_pipeline.assets.inbound import SYNC_PARTITIONS, inbound_key
from sonet_pipeline.assets.inbound_checks import check_keys
from sonet_pipeline.assets.sync_partitions import partitions_through
from sonet_pipeline.cli.runs.sync import RANGE_END_TAG, RANGE_START_TAG, run_sync
from sonet_pipeline.config.tenants import load_tenants
from sonet_pipeline.definitions import build_definitions
from sonet_pipeline.jobs.cli_runs import execute_job, prepare_instance
from sonet_pipeline.jobs.sync import MINUTE_SYNC_JOB, SYNC_JOB
from sonet_pipeline.sonet.entities import SYNCED
from tests.standin.standin_http import SonetClient
from tests.tenants_file import write_acme_tenant

pytestmark = pytest.mark.slow

#: The stand-in's entities by the pipeline's names, and their keys (its seed spans 2025).
STANDIN = {"items": ("items", "itemCode"), "customers": ("customers", "customerNumber")}


class Deployment:
    """Tenant acme on the stand-in, the code location on its clock, one Dagster instance."""

    def __init__(self, sonet: SonetClient, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        write_acme_tenant(sonet, tmp_path, monkeypatch)
        self.sonet = sonet
        self.tenants = load_tenants()
        self.defs = build_definitions(self.tenants, clock=sonet.clock)
        self.instance: DagsterInstance = prepare_instance()

    def sync(self) -> Any:
        summary = run_sync(self.defs, self.instance, self.tenants, now=self.sonet.clock.now())
        assert summary.success, summary.failures
        return summary

    def minute(self) -> Any:
        result = execute_job(self.defs.resolve_job_def(MINUTE_SYNC_JOB), self.instance)
        assert result.success
        return result

    def backfill(self, first: str, last: str) -> Any:
        """What the UI launches for a backfill of the months `first`..`last` (one run: single_run)."""
        result = execute_job(
            self.defs.resolve_job_def(SYNC_JOB),
            self.instance,
            tags={RANGE_START_TAG: first, RANGE_END_TAG: last},
            asset_selection=[inbound_key("acme", name) for name in SYNCED],
            asset_check_selection=check_keys("acme"),
        )
        assert result.success
        return result

    def events(self, name: str) -> int:
        return len(self.instance.fetch_materializations(inbound_key("acme", name), limit=10_000).records)

    def materialized(self, name: str) -> set[str]:
        return self.instance.get_materialized_partitions(inbound_key("acme", name))


def months(now: datetime) -> list[str]:
    keys = partitions_through(now)
    assert keys[0] == "2025-01-01" and keys[-1] == now.strftime("%Y-%m-01")
    return keys


def test_the_initial_load_records_every_month_it_covered_once(sonet, tmp_path, monkeypatch):
    """After `sync` on an empty store every month from the first partition to the one in progress shows
    materialized (in the status the UI reads too), each by one event; the CLI's figures are the read's;
    a delta that changed nothing afterwards records nothing."""
    deployment = Deployment(sonet, tmp_path, monkeypatch)
    summary = deployment.sync()
    now = sonet.clock.now()
    every_month = months(now)
    for name in SYNCED:
        assert deployment.materialized(name) == set(every_month), name
        assert deployment.events(name) == len(every_month), f"{name}: one event a month"
        status = deployment.instance.get_status_by_partition(inbound_key("acme", name), every_month, SYNC_PARTITIONS)
        assert status is not None and set(status.values()) == {AssetPartitionStatus.MATERIALIZED}
    figures = summary.tenants["acme"]["items"]
    assert figures["fetched"] > 0 and figures["window"].startswith("initial"), figures

    sonet.advance(60)
    deployment.sync()
    assert all(deployment.events(name) == len(every_month) for name in SYNCED), "an idle delta records nothing"


def test_the_minute_sync_records_the_initial_load_and_then_a_new_month_once(sonet, tmp_path, monkeypatch):
    """The minute sync's initial load records every month; its deltas record the month in progress once
    (a month turning: one event an entity), not every minute."""
    deployment = Deployment(sonet, tmp_path, monkeypatch)
    deployment.minute()
    november = months(sonet.clock.now())
    assert all(deployment.materialized(name) == set(november) for name in SYNCED)

    sonet.advance(60)
    idle = deployment.minute()
    assert idle.get_asset_materialization_events() == [], "an idle minute records no partition"

    sonet.advance((datetime(2026, 12, 1, 0, 1, tzinfo=UTC) - sonet.clock.now()).total_seconds())
    turned = deployment.minute()
    recorded = [(e.asset_key.path[-1], e.partition) for e in turned.get_asset_materialization_events()]
    assert sorted(recorded) == sorted((name, "2026-12-01") for name in SYNCED)
    sonet.advance(60)
    assert deployment.minute().get_asset_materialization_events() == []
    assert all(deployment.materialized(name) == {*november, "2026-12-01"} for name in SYNCED)


def test_a_backfill_of_chosen_months_rereads_exactly_their_windows(sonet, tmp_path, monkeypatch):
    """A backfill of March and April 2025 (one run, as the UI launches it) reads `dateModified` from
    1 March minus the lookback to 1 May, fetching exactly the records Sonet has there, and records
    exactly those two months."""
    deployment = Deployment(sonet, tmp_path, monkeypatch)
    deployment.sync()
    result = deployment.backfill("2025-03-01", "2025-04-01")

    lookback = timedelta(seconds=deployment.tenants[0].lookback_seconds)
    start, end = datetime(2025, 3, 1, tzinfo=UTC) - lookback, datetime(2025, 5, 1, tzinfo=UTC)
    by_entity: dict[str, list[Any]] = {}
    for event in result.get_asset_materialization_events():
        by_entity.setdefault(event.asset_key.path[-1], []).append(event)
    assert set(by_entity) == set(SYNCED)
    for name, events in by_entity.items():
        assert sorted(e.partition for e in events) == ["2025-03-01", "2025-04-01"], name
        window = events[0].materialization.metadata["window"].value
        assert window == f"backfill: {start.isoformat()} to {end.isoformat()}", window
    for name, (standin_entity, key) in STANDIN.items():
        inside = [
            r[key]
            for r in sonet.state(standin_entity)
            if start <= datetime.fromisoformat(r["dateModified"]).astimezone(UTC) < end
        ]
        assert inside, f"the seed has no {name} in the window: the test proves nothing"
        fetched = by_entity[name][0].materialization.metadata["fetched"].value
        assert fetched == len(inside), name


def test_a_single_month_from_the_ui_is_its_own_window(sonet, tmp_path, monkeypatch):
    """A backfill of one past month reads that month (plus the lookback) and records only it."""
    deployment = Deployment(sonet, tmp_path, monkeypatch)
    deployment.sync()
    result = deployment.backfill("2025-06-01", "2025-06-01")
    events = [
        e for e in result.get_asset_materialization_events() if e.asset_key == AssetKey(["acme", "sonet", "items"])
    ]
    assert [e.partition for e in events] == ["2025-06-01"]
    assert events[0].materialization.metadata["window"].value.endswith("to 2025-07-01T00:00:00+00:00")


def test_the_full_read_records_every_month_the_instance_lacks(sonet, tmp_path, monkeypatch):
    """A gap in what the instance shows (here: the items' history wiped) is filled by the full read,
    which covered every month; the entities already shown gain only the month in progress's figures."""
    deployment = Deployment(sonet, tmp_path, monkeypatch)
    deployment.sync()
    every_month = months(sonet.clock.now())
    deployment.instance.wipe_assets([inbound_key("acme", "items")])
    assert deployment.materialized("items") == set()
    sonet.advance(60)
    summary = run_sync(deployment.defs, deployment.instance, deployment.tenants, full=True, now=sonet.clock.now())
    assert summary.success and summary.tenants["acme"]["items"]["window"].startswith("full")
    assert deployment.materialized("items") == set(every_month)
    assert deployment.events("items") == len(every_month)
    assert deployment.events("customers") == len(every_month) + 1, "the full read's own figures, nothing more"
