"""Which of the tenants' files are stale now, read from where they live: what the shop sensor and
`shop publish` both ask (the rule itself is `inputs.stale_by_tenant`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.outbox import Outbox
from sonet_pipeline.shop.inputs import TenantStaleness, stale_by_tenant
from sonet_pipeline.shop.publish import Destination, read_manifest
from sonet_pipeline.store import open_snapshot


def find_stale(
    tenants: Sequence[Tenant],
    outbox: Outbox,
    destination: Callable[[Tenant], Destination],
    *,
    everything: bool = False,
    now: datetime | None = None,
) -> list[TenantStaleness]:
    """Per tenant, the files to publish now: the stale ones, or all of them with `everything`. What the
    shop sensor and `shop publish` both ask, from each tenant's snapshot, the outbox and its destination;
    with `now` (the clock's), also the files whose recorded `next_change` has come (`prices`)."""
    return stale_by_tenant(
        tenants,
        snapshot_manifest=lambda name: open_snapshot(name).manifest(),  # a folder, or PostgreSQL
        outbox_mark=outbox.change_mark,
        published_manifest=lambda tenant: read_manifest(destination(tenant)),
        everything=everything,
        now=now,
    )
