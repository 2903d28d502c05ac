"""Which window of `dateModified` a sync reads: the contract's paging and visibility-lag rules.

Windows are closed-open, `modified_from <= dateModified < modified_to`, as Sonet's ChangeFilter.
Every window that is not the initial load starts `lookback` early: a change can become visible up to
90 s after its `dateModified`, so a reader that never looks back misses late commits for good.

- initial: an empty store reads everything Sonet has;
- delta: the regular sync reads from its high-water mark minus the lookback to now, whatever the
  partition, so after downtime it catches up;
- backfill: a past partition (a month, or a range of them) re-reads its own window plus the lookback;
- window: an operator's explicit `--from/--to`, plus the lookback;
- full: everything again, for the periodic reconciliation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

INITIAL, DELTA, BACKFILL, WINDOW, FULL = "initial", "delta", "backfill", "window", "full"
#: The longest single partition (a month): a partition window longer than this is a range of them.
LONGEST_PARTITION = timedelta(days=31)


@dataclass(frozen=True)
class Window:
    modified_from: datetime | None
    modified_to: datetime | None
    kind: str

    @property
    def moves_high_water_mark(self) -> bool:
        """Only reads that cover everything up to now may move the high-water mark."""
        return self.kind in (INITIAL, DELTA, FULL)

    def describe(self) -> str:
        start = self.modified_from.isoformat() if self.modified_from else "the beginning"
        end = self.modified_to.isoformat() if self.modified_to else "now"
        return f"{self.kind}: {start} to {end}"


def choose_window(
    *,
    high_water_mark: datetime | None,
    lookback: timedelta,
    now: datetime,
    partition: tuple[datetime, datetime] | None = None,
    explicit: tuple[datetime, datetime] | None = None,
    full: bool = False,
    partition_length: timedelta = LONGEST_PARTITION,
) -> Window:
    """The window one entity's sync reads, by the rules above (first match wins)."""
    if explicit is not None:
        start, end = explicit
        if start >= end:
            raise ValueError(f"the window's start {start.isoformat()} is not before its end {end.isoformat()}")
        return Window(start - lookback, end, WINDOW)
    if full:
        return Window(None, None, FULL)
    if partition is not None:
        start, end = partition
        in_progress = end > now
        if not in_progress:
            return Window(start - lookback, end, BACKFILL)
        if end - start > partition_length:  # a range reaching into the partition in progress
            return Window(start - lookback, None, BACKFILL)
    if high_water_mark is None:
        return Window(None, None, INITIAL)
    return Window(high_water_mark - lookback, None, DELTA)
