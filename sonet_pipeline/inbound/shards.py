"""Tenants grouped into the minute sync's shards: one step (one worker task) syncs a shard's tenants in turn.

A step costs Dagster a fixed handful of events and, on a worker pool, a task's round trip; a shard
amortizes them over its tenants. The grouping follows the tenants file's order, so a tenant stays in
its shard while tenants are appended to the file.
"""

from __future__ import annotations

from collections.abc import Sequence


def shards(tenants: Sequence[str], size: int) -> list[list[str]]:
    """`tenants` in consecutive groups of `size` (the last may be smaller), in their order."""
    if size < 1:
        raise ValueError(f"a shard holds at least one tenant, got a size of {size}")
    names = list(tenants)
    if len(set(names)) != len(names):
        raise ValueError(f"a tenant is named twice: {sorted({n for n in names if names.count(n) > 1})}")
    return [names[start : start + size] for start in range(0, len(names), size)]


def shard_step_name(index: int) -> str:
    """The minute sync's step of shard `index`."""
    return f"sonet_sync_shard_{index:03d}"
