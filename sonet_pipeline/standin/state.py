"""What one Sonet company holds, with the contract's ordering and visibility rules.

Every change is a new *version* of a record: it carries its `dateModified` and the instant it becomes
visible to queries (`visible_at`), which may be later than `dateModified` (a long ERP transaction that
commits late: the contract's visibility lag). A query sees, per key, the newest version that is
visible now, at that version's place in the order `(dateModified, key)`. Nothing is ever removed: a
deletion is a version with `status: DELETED`.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sortedcontainers import SortedList

from sonet_pipeline.common.clock import Clock

#: The key field of each list of the Query API.
ENTITY_KEYS: dict[str, str] = {
    "items": "itemCode",
    "customers": "customerNumber",
    "customerSegments": "segmentCode",
    "salesOrders": "messageId",
    "priceListLines": "lineId",
}

Record = dict[str, Any]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def to_ms(instant: datetime) -> int:
    """Milliseconds since the epoch (Sonet keeps millisecond precision), truncated."""
    delta = instant.astimezone(UTC) - _EPOCH
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


@dataclass(slots=True, frozen=True)
class Version:
    record: Record
    modified_ms: int
    visible_ms: int


@dataclass(frozen=True)
class Page:
    records: list[Record]
    #: `(dateModified in ms, key)` of each record, for cursors.
    positions: list[tuple[int, str]]
    has_next_page: bool


class EntityTable:
    """The versions of one entity's records, indexed by `(dateModified, key)`. Not thread-safe alone."""

    def __init__(self, key_field: str) -> None:
        self.key_field = key_field
        self._versions: dict[str, list[Version]] = {}
        self._index: SortedList = SortedList()
        #: A fault: a second, different record listed right after the version at `(ms, key)`.
        self._twins: dict[tuple[int, str], Record] = {}

    def __len__(self) -> int:
        return len(self._versions)

    def add(self, version: Version, now_ms: int) -> None:
        key = version.record[self.key_field]
        versions = self._versions.setdefault(key, [])
        versions.append(version)
        self._index.add((version.modified_ms, key))
        self._prune(key, now_ms)

    def latest(self, key: str) -> Version | None:
        versions = self._versions.get(key)
        return versions[-1] if versions else None

    def visible(self, key: str, now_ms: int) -> Version | None:
        for version in reversed(self._versions.get(key, ())):
            if version.visible_ms <= now_ms:
                return version
        return None

    def keys(self) -> Iterable[str]:
        return self._versions.keys()

    def page(
        self, *, now_ms: int, from_ms: int | None, to_ms: int | None, after: tuple[int, str] | None, first: int
    ) -> Page:
        start = self._index.bisect_left((from_ms, "")) if from_ms is not None else 0
        if after is not None:
            start = max(start, self._index.bisect_right(after))
        records: list[Record] = []
        positions: list[tuple[int, str]] = []
        has_next = False
        for modified_ms, key in self._index.islice(start):
            if to_ms is not None and modified_ms >= to_ms:
                break
            version = self.visible(key, now_ms)
            if version is None or version.modified_ms != modified_ms:
                continue  # not committed yet, or superseded by a newer visible version
            twin = self._twins.get((modified_ms, key))
            if records and len(records) + (1 if twin is None else 2) > first:
                has_next = True
                break
            records.append(version.record)
            positions.append((modified_ms, key))
            if twin is not None:  # listed twice, on one page, with one cursor position
                records.append(twin)
                positions.append((modified_ms, key))
        return Page(records, positions, has_next)

    def add_twin(self, record: Record) -> Version:
        """A fault: list `record` as a second row of its key, at the key's newest version's `dateModified`,
        for as long as that version is the one queries see (a newer version of the key ends it)."""
        key = record[self.key_field]
        newest = self.latest(key)
        if newest is None:
            raise ValueError(f"no record {key!r} to list twice")
        twin = {**record, "dateModified": newest.record["dateModified"]}
        self._twins[(newest.modified_ms, key)] = twin
        return Version(twin, newest.modified_ms, newest.visible_ms)

    def _prune(self, key: str, now_ms: int) -> None:
        """Forget versions hidden for good behind a newer version that is already visible."""
        versions = self._versions[key]
        newest_visible = max((i for i, v in enumerate(versions) if v.visible_ms <= now_ms), default=0)
        for old in versions[:newest_visible]:
            self._index.discard((old.modified_ms, key))
        del versions[:newest_visible]

    def prune_all(self, now_ms: int) -> None:
        for key, versions in self._versions.items():
            if len(versions) > 1:
                self._prune(key, now_ms)


class CompanyState:
    """One company's records. Thread-safe: every public method holds the company's lock.

    `late_share` of the changes made through `change()` without an explicit delay commit late, by a
    random delay of up to `lag_seconds` (the contract allows 90 s). Seed data is visible at once.
    """

    def __init__(
        self, code: str, clock: Clock, *, lag_seconds: float = 90.0, late_share: float = 0.0, seed: int = 0
    ) -> None:
        self.code = code
        self.clock = clock
        self.lag_seconds = lag_seconds
        self.late_share = late_share
        self.lock = threading.RLock()
        self._rng = random.Random(seed)
        self._tables = {entity: EntityTable(key) for entity, key in ENTITY_KEYS.items()}

    def table(self, entity: str) -> EntityTable:
        try:
            return self._tables[entity]
        except KeyError:
            raise ValueError(f"unknown entity {entity!r}; known: {', '.join(ENTITY_KEYS)}") from None

    def now_ms(self) -> int:
        return to_ms(self.clock.now())

    def load(self, entity: str, records: Iterable[Record]) -> int:
        """Add seed records as they are, visible at once; answer how many."""
        table = self.table(entity)
        count = 0
        with self.lock:
            now_ms = self.now_ms()
            for record in records:
                modified_ms = to_ms(record["dateModified"])
                table.add(Version(record, modified_ms, modified_ms), now_ms)
                count += 1
        return count

    def restore(self, entity: str, record: Record, visible_ms: int) -> None:
        """Put back a version read from the journal, exactly as it was."""
        with self.lock:
            self.table(entity).add(Version(record, to_ms(record["dateModified"]), visible_ms), self.now_ms())

    def change(
        self,
        entity: str,
        records: Iterable[Record],
        *,
        delay_seconds: float | None = None,
        same_stamp: bool = True,
    ) -> list[Version]:
        """Write new versions of whole records, stamped now (one millisecond for all when `same_stamp`).

        A record's `dateModified` never decreases: a stamp is at least one millisecond after the
        key's previous one. `delay_seconds` makes the change visible that much after its stamp (a
        back-dated change); without it, `late_share` decides. A version never becomes visible
        before the key's previous version.
        """
        table = self.table(entity)
        with self.lock:
            now_ms = self.now_ms()
            batch = list(records)
            floor = max(
                (v.modified_ms + 1 for r in batch if (v := table.latest(r[table.key_field])) is not None),
                default=now_ms,
            )
            written: list[Version] = []
            for record in batch:
                previous = table.latest(record[table.key_field])
                stamp = max(now_ms, floor) if same_stamp else max(now_ms, (previous.modified_ms + 1) if previous else 0)
                delay_ms = round(1000 * self._delay(delay_seconds))
                visible_ms = max(stamp + delay_ms, previous.visible_ms if previous else 0)
                version = Version({**record, "dateModified": from_ms(stamp)}, stamp, visible_ms)
                table.add(version, now_ms)
                written.append(version)
            return written

    def list_twice(self, entity: str, records: Iterable[Record]) -> list[Version]:
        """A fault of a faulty Sonet: each record listed as a second row of its key beside the newest
        version, with the same `dateModified` (`EntityTable.add_twin`). Not journaled."""
        table = self.table(entity)
        with self.lock:
            return [table.add_twin(record) for record in records]

    def _delay(self, delay_seconds: float | None) -> float:
        if delay_seconds is not None:
            return max(0.0, delay_seconds)
        if self.late_share > 0 and self._rng.random() < self.late_share:
            return self._rng.uniform(0, self.lag_seconds)
        return 0.0

    def page(
        self,
        entity: str,
        *,
        first: int,
        after: tuple[int, str] | None = None,
        modified_from: datetime | None = None,
        modified_to: datetime | None = None,
    ) -> Page:
        table = self.table(entity)
        with self.lock:
            return table.page(
                now_ms=self.now_ms(),
                from_ms=None if modified_from is None else _ceil_ms(modified_from),
                to_ms=None if modified_to is None else _ceil_ms(modified_to),
                after=after,
                first=first,
            )

    def visible(self, entity: str, key: str) -> Record | None:
        with self.lock:
            version = self.table(entity).visible(key, self.now_ms())
            return None if version is None else version.record

    def latest(self, entity: str, key: str) -> Record | None:
        """The newest version, committed but perhaps not yet visible to queries."""
        with self.lock:
            version = self.table(entity).latest(key)
            return None if version is None else version.record

    def snapshot(self, entity: str, *, visible_only: bool = False) -> Iterator[Record]:
        """Every record's current state, ordered by key (for comparing a reader's copy)."""
        table = self.table(entity)
        with self.lock:
            now_ms = self.now_ms()
            keys = sorted(table.keys())
            versions = [table.visible(k, now_ms) if visible_only else table.latest(k) for k in keys]
        return (v.record for v in versions if v is not None)

    def count(self, entity: str) -> int:
        with self.lock:
            return len(self.table(entity))

    def settle(self) -> None:
        """Drop versions that no query can see any more (housekeeping)."""
        with self.lock:
            now_ms = self.now_ms()
            for table in self._tables.values():
                table.prune_all(now_ms)


def _ceil_ms(instant: datetime) -> int:
    """A filter bound in whole milliseconds: `x >= bound` on ms values equals `x >= instant`."""
    ms = to_ms(instant)
    return ms + 1 if from_ms(ms) < instant.astimezone(UTC) else ms
