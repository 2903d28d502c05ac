"""Freshness, in Dagster's own terms: each tenant's last successful sync is no older than three cadences.

The minute sync records only what changed (`tenant_sync.py`): an idle tenant materializes nothing for
days, and every successful sync is one observation of its `<tenant>/sonet/sync` asset. So the last
update that counts is that observation, and Dagster's `build_last_update_freshness_checks` judges it:
it reads the newer of an asset's last materialization and last observation, an observation by its
`dagster/last_updated_timestamp` (which `tenant_sync.py` sets to when the sync finished). Dagster marks
that factory as superseded by `FreshnessPolicy`, but the policy's evaluator (the freshness daemon)
reads the last materialization only, and would call a tenant synced a minute ago stale.

What alerts and the UI find, per tenant:
- the check `freshness_check` (`FRESHNESS_CHECK`) on `<tenant>/sonet/sync` (`freshness_check_key`),
  severity WARN, with Dagster's metadata: `dagster/last_updated_timestamp` (the last successful sync),
  `dagster/freshness_lower_bound_timestamp` (the oldest sync that still counts), and
  `dagster/fresh_until_timestamp` when it passed;
- a `FreshnessPolicy` on each entity asset (`ENTITY_FRESHNESS`): the nightly full read materializes
  every entity, so an entity not materialized for 26 hours means the nightly reconciliation did not run.

The checks run in the `sonet_freshness` job (`jobs/sync.py`), started by `sensors/freshness_sensor.py`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import timedelta

from dagster import (
    AssetCheckKey,
    AssetChecksDefinition,
    FreshnessPolicy,
    SupersessionWarning,
    build_last_update_freshness_checks,
)

from sonet_pipeline.assets.tenant_sync import sync_status_key
from sonet_pipeline.config.tenants import Tenant

#: How many cadences a tenant's sync may miss before the tenant counts as stale.
CADENCES = 3
#: The name Dagster's factory gives every freshness check.
FRESHNESS_CHECK = "freshness_check"
#: The entities' own freshness: the nightly full read (02:30 UTC) materializes each of them.
ENTITY_FRESHNESS = FreshnessPolicy.time_window(fail_window=timedelta(hours=26), warn_window=timedelta(hours=25))


def freshness_limit(tenant: Tenant) -> timedelta:
    """How old the tenant's last successful sync may be."""
    return timedelta(seconds=CADENCES * tenant.sync_every_seconds)


def freshness_check_key(tenant: str) -> AssetCheckKey:
    return AssetCheckKey(sync_status_key(tenant), FRESHNESS_CHECK)


def build_freshness_checks(tenants: Sequence[Tenant]) -> list[AssetChecksDefinition]:
    """Dagster's last-update freshness check on every tenant's `sync` asset: one definition per limit."""
    by_limit: dict[timedelta, list[Tenant]] = {}
    for tenant in tenants:
        by_limit.setdefault(freshness_limit(tenant), []).append(tenant)
    checks: list[AssetChecksDefinition] = []
    with warnings.catch_warnings():
        # Superseded by FreshnessPolicy, which cannot judge an asset that is only observed (see above).
        warnings.simplefilter("ignore", SupersessionWarning)
        for limit, members in by_limit.items():
            checks += build_last_update_freshness_checks(
                assets=[sync_status_key(t.name) for t in members], lower_bound_delta=limit
            )
    return checks
