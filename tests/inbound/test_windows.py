"""Sync windows: lookback on every re-read, high-water mark from deltas only, partitions and ranges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sonet_pipeline.inbound.windows import BACKFILL, DELTA, FULL, INITIAL, WINDOW, choose_window

NOW = datetime(2026, 11, 28, 7, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)
LOOKBACK = timedelta(seconds=120)
NOVEMBER = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))  # the partition in progress


def current_month() -> tuple[datetime, datetime]:
    return NOVEMBER


def test_empty_store_loads_everything():
    """With no high-water mark the regular sync is the initial load: no bounds at all."""
    window = choose_window(high_water_mark=None, lookback=LOOKBACK, now=NOW, partition=current_month())
    assert (window.modified_from, window.modified_to, window.kind) == (None, None, INITIAL)
    assert window.moves_high_water_mark


def test_regular_sync_reads_from_the_high_water_mark_minus_lookback_to_now():
    """The current partition reads hwm - lookback onwards, whatever the partition (catch-up after downtime)."""
    hwm = NOW - timedelta(days=2)
    window = choose_window(high_water_mark=hwm, lookback=LOOKBACK, now=NOW, partition=current_month())
    assert (window.modified_from, window.modified_to, window.kind) == (hwm - LOOKBACK, None, DELTA)


@pytest.mark.parametrize("month", [(2026, 2), (2026, 3), (2026, 10)])
def test_past_partition_is_a_backfill_of_its_window_plus_lookback(month):
    """A finished month (28, 31 or 31 days) re-reads exactly its window, started `lookback` early, and
    moves no high-water mark."""
    start = datetime(*month, 1, tzinfo=UTC)
    end = datetime(month[0], month[1] + 1, 1, tzinfo=UTC)
    window = choose_window(high_water_mark=NOW, lookback=LOOKBACK, now=NOW, partition=(start, end))
    assert (window.modified_from, window.modified_to, window.kind) == (start - LOOKBACK, end, BACKFILL)
    assert not window.moves_high_water_mark


def test_range_into_the_current_month_reads_to_now():
    """A backfill range that reaches the month in progress (two months or more) reads from its start to now."""
    start = datetime(2026, 10, 1, tzinfo=UTC)
    window = choose_window(high_water_mark=NOW, lookback=LOOKBACK, now=NOW, partition=(start, current_month()[1]))
    assert (window.modified_from, window.modified_to, window.kind) == (start - LOOKBACK, None, BACKFILL)


def test_the_month_in_progress_alone_is_the_regular_delta():
    """The longest month in progress is one partition, not a range: it reads from the high-water mark."""
    december = (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    now = datetime(2026, 12, 30, tzinfo=UTC)
    window = choose_window(high_water_mark=now - HOUR, lookback=LOOKBACK, now=now, partition=december)
    assert (window.modified_from, window.modified_to, window.kind) == (now - HOUR - LOOKBACK, None, DELTA)


def test_explicit_window_and_full_reconciliation():
    """`--from/--to` reads that window plus lookback; a full read has no bounds."""
    start, end = NOW - HOUR, NOW
    explicit = choose_window(high_water_mark=NOW, lookback=LOOKBACK, now=NOW, explicit=(start, end))
    assert (explicit.modified_from, explicit.modified_to, explicit.kind) == (start - LOOKBACK, end, WINDOW)
    full = choose_window(high_water_mark=NOW, lookback=LOOKBACK, now=NOW, full=True)
    assert (full.modified_from, full.modified_to, full.kind) == (None, None, FULL)
    with pytest.raises(ValueError, match="not before its end"):
        choose_window(high_water_mark=None, lookback=LOOKBACK, now=NOW, explicit=(end, start))
