"""Sync windows: lookback on every re-read, high-water mark from deltas only, partitions and ranges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sonet_pipeline.inbound.windows import BACKFILL, DELTA, FULL, INITIAL, WINDOW, choose_window

NOW = datetime(2026, 11, 28, 7, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)
LOOKBACK = timedelta(seconds=120)


def current_hour() -> tuple[datetime, datetime]:
    start = NOW.replace(minute=0, second=0, microsecond=0)
    return start, start + HOUR


def test_empty_store_loads_everything():
    """With no high-water mark the regular sync is the initial load: no bounds at all."""
    window = choose_window(high_water_mark=None, lookback=LOOKBACK, now=NOW, partition=current_hour())
    assert (window.modified_from, window.modified_to, window.kind) == (None, None, INITIAL)
    assert window.moves_high_water_mark


def test_regular_sync_reads_from_the_high_water_mark_minus_lookback_to_now():
    """The current partition reads hwm - lookback onwards, whatever the partition (catch-up after downtime)."""
    hwm = NOW - timedelta(days=2)
    window = choose_window(high_water_mark=hwm, lookback=LOOKBACK, now=NOW, partition=current_hour())
    assert (window.modified_from, window.modified_to, window.kind) == (hwm - LOOKBACK, None, DELTA)


def test_past_partition_is_a_backfill_of_its_window_plus_lookback():
    """A finished hour re-reads exactly its window, started `lookback` early, and moves no high-water mark."""
    start = datetime(2026, 11, 1, 10, tzinfo=UTC)
    window = choose_window(high_water_mark=NOW, lookback=LOOKBACK, now=NOW, partition=(start, start + HOUR))
    assert (window.modified_from, window.modified_to, window.kind) == (start - LOOKBACK, start + HOUR, BACKFILL)
    assert not window.moves_high_water_mark


def test_range_into_the_current_hour_reads_to_now():
    """A backfill range that reaches the hour in progress reads from its start to now."""
    start = NOW - timedelta(hours=5)
    window = choose_window(high_water_mark=NOW, lookback=LOOKBACK, now=NOW, partition=(start, current_hour()[1]))
    assert (window.modified_from, window.modified_to, window.kind) == (start - LOOKBACK, None, BACKFILL)


def test_explicit_window_and_full_reconciliation():
    """`--from/--to` reads that window plus lookback; a full read has no bounds."""
    start, end = NOW - HOUR, NOW
    explicit = choose_window(high_water_mark=NOW, lookback=LOOKBACK, now=NOW, explicit=(start, end))
    assert (explicit.modified_from, explicit.modified_to, explicit.kind) == (start - LOOKBACK, end, WINDOW)
    full = choose_window(high_water_mark=NOW, lookback=LOOKBACK, now=NOW, full=True)
    assert (full.modified_from, full.modified_to, full.kind) == (None, None, FULL)
    with pytest.raises(ValueError, match="not before its end"):
        choose_window(high_water_mark=None, lookback=LOOKBACK, now=NOW, explicit=(end, start))
