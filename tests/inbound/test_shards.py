"""The minute sync's shards: consecutive groups in the tenants file's order."""

from __future__ import annotations

import pytest

from sonet_pipeline.inbound.shards import shard_step_name, shards


def test_tenants_are_grouped_in_order_the_last_shard_smaller():
    names = [f"t{i}" for i in range(7)]
    assert shards(names, 3) == [["t0", "t1", "t2"], ["t3", "t4", "t5"], ["t6"]]
    assert shards(names, 1) == [[n] for n in names]  # the default: a step per tenant
    assert shards(names, 50) == [names]
    assert shards([], 4) == []


def test_appending_a_tenant_keeps_the_others_in_their_shards():
    before, after = shards(["a", "b", "c"], 2), shards(["a", "b", "c", "d", "e"], 2)
    assert after[: len(before) - 1] == before[:-1] and after[len(before) - 1][:1] == before[-1]


def test_a_bad_size_or_a_tenant_named_twice_is_refused_by_name():
    with pytest.raises(ValueError, match="at least one tenant"):
        shards(["a"], 0)
    with pytest.raises(ValueError, match="named twice: \\['a'\\]"):
        shards(["a", "b", "a"], 2)


def test_step_names_sort_in_shard_order():
    assert [shard_step_name(i) for i in (0, 9, 10)] == [
        "sonet_sync_shard_000",
        "sonet_sync_shard_009",
        "sonet_sync_shard_010",
    ]
