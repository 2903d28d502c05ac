"""When a tenant's sync is due."""

from __future__ import annotations

from datetime import UTC, datetime

from sonet_pipeline.inbound.cadence import tenant_due

NOW = datetime(2026, 11, 28, 7, 30, tzinfo=UTC)


def test_tenant_cadence_in_whole_minutes():
    """A tenant syncing every 180 s is due every third minute; every 60 s, every minute."""
    ticks = [NOW.replace(minute=m, second=0) for m in range(6)]
    assert [tenant_due(60, t) for t in ticks] == [True] * 6
    assert [tenant_due(180, t) for t in ticks] == [True, False, False, True, False, False]
