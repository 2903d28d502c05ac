"""When a tenant's sync is due: the minute schedule asks each tenant at every tick."""

from __future__ import annotations

from datetime import datetime


def tenant_due(every_seconds: int, tick: datetime) -> bool:
    """Whether a tenant syncing every `every_seconds` (a multiple of 60) is due at this minute's tick."""
    minutes = every_seconds // 60
    return int(tick.timestamp() // 60) % minutes == 0
