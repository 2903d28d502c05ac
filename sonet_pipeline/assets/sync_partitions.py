"""The inbound assets' partitions: months of `dateModified`, and the months a sync's read covered.

A partition is a window of Sonet's `dateModified` that a backfill re-reads, not a slice of the store
(which holds the latest state per key). A read that reaches now (the initial load, a delta, a full
read), with the reads before it, has read every month from the first partition to the one in
progress, so the instance records those months as materialized: the ones it does not show yet, once
each (`docs/partitions.md` says why months, and what it costs).

What this adds to the event log grows with months, not with minutes: the initial load records every
month since the first (an event per entity and month: 5 x 23 for a tenant onboarded in November
2026); a delta asks whether each entity's latest materialization is in the month in progress (one
read for the tenant, no event) and records that month once, when it begins; the nightly full read
fills any month still missing. A backfill of chosen months needs nothing here: Dagster records the run's own
partitions.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from dagster import (
    AssetKey,
    AssetMaterialization,
    AssetRecordsFilter,
    DagsterInstance,
    MetadataValue,
    MonthlyPartitionsDefinition,
)

from sonet_pipeline.assets.tenant_sync import TenantSync, inbound_key
from sonet_pipeline.inbound.windows import DELTA, FULL, INITIAL

#: One partitions definition for every tenant, so one run can carry all tenants' month in progress.
SYNC_PARTITIONS = MonthlyPartitionsDefinition(start_date="2025-01-01", end_offset=1)
#: The metadata that marks a materialization recording a covered month (no figures of its own: the
#: CLI's summary skips it).
COVERED_BY = "covered_by"


def partition_key_for(instant: datetime) -> str:
    """The key of the monthly partition holding `instant` (the month in progress for now)."""
    return instant.astimezone(UTC).strftime("%Y-%m-01")


def partitions_through(now: datetime) -> list[str]:
    """Every partition from the first to the one holding `now`."""
    return list(SYNC_PARTITIONS.get_partition_keys(current_time=now))


def unrecorded_partitions(instance: DagsterInstance, key: AssetKey, now: datetime, *, full_check: bool) -> list[str]:
    """The partitions through `now` that the instance does not show `key` materialized in.

    Unless `full_check`, a materialization of the month in progress answers: the months before it
    were recorded by the reads before (the nightly full read checks them all)."""
    current = partition_key_for(now)
    if not full_check:
        found = instance.fetch_materializations(AssetRecordsFilter(asset_key=key, asset_partitions=[current]), limit=1)
        if found.records:
            return []
    recorded = instance.get_materialized_partitions(key)
    return [p for p in partitions_through(now) if p not in recorded]


def coverage_events(
    instance: DagsterInstance, outcome: TenantSync, now: datetime, *, reported_in_current: bool
) -> Iterator[AssetMaterialization]:
    """A materialization for each month that the tenant's reads to now covered and the instance lacks.

    With `reported_in_current`, the entities the sync reports are materialized in the month in
    progress anyway (their own event), so it is left out for them."""
    current = partition_key_for(now)
    reported = {s.name for s in outcome.reported()} if reported_in_current else set()
    deltas = [inbound_key(outcome.tenant, s.name) for s in outcome.synced if s.window_kind == DELTA]
    latest_current = _latest_in(instance, deltas, current)
    for synced in outcome.synced:
        if synced.window_kind not in (INITIAL, DELTA, FULL):
            continue  # a backfill or an explicit window: the run records its own partitions
        key = inbound_key(outcome.tenant, synced.name)
        if synced.window_kind == DELTA and key in latest_current:
            continue  # the minute's usual answer, one query for the tenant's entities
        for partition in unrecorded_partitions(instance, key, now, full_check=synced.window_kind != DELTA):
            if partition == current and synced.name in reported:
                continue
            yield AssetMaterialization(
                key,
                partition=partition,
                metadata={COVERED_BY: MetadataValue.text(f"the {synced.window_kind} read to {now.isoformat()}")},
            )


def _latest_in(instance: DagsterInstance, keys: list[AssetKey], partition: str) -> set[AssetKey]:
    """The `keys` whose latest materialization is in `partition` (one query for them all)."""
    if not keys:
        return set()
    found = set()
    for record in instance.get_asset_records(keys):
        latest = record.asset_entry.last_materialization_record
        if latest is not None and latest.partition_key == partition:
            found.add(record.asset_entry.asset_key)
    return found
