"""One entity's sync: read a window of Sonet's list by cursor paging and upsert it into the tenant's store.

Pages stream from a fetching thread through a small queue into batched bulk upserts, so reading and
writing overlap and the catalogue is never held in memory: at most `prefetch` pages and one batch.
The high-water mark moves only after a read that covered everything up to now (initial, delta,
full), and only forward; a full read also names keys the store holds that Sonet no longer lists.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sonet_pipeline.common.clock import Clock
from sonet_pipeline.common.streaming import streaming_runtime
from sonet_pipeline.inbound.windows import FULL, Window
from sonet_pipeline.sonet.entities import Entity
from sonet_pipeline.sonet.query import QueryPage, SonetQueryClient
from sonet_pipeline.store import Store, UpsertCounts, to_frame

PAGE_SIZE = 500
BATCH_ROWS = 5_000
#: At least two batches of pages fetched ahead, so fetching never waits while a batch is written
#: (bench/inbound_initial.py: 0.62 -> 0.76-0.82 of the server's ceiling).
PREFETCH_PAGES = 2 * BATCH_ROWS // PAGE_SIZE + 4


@dataclass
class EntitySync:
    """What one entity's sync did: the figures an operator plots."""

    entity: str
    window: Window
    pages: int = 0
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    high_water_mark: datetime | None = None
    newest_modified: datetime | None = None
    #: Keys the store holds that a full read did not see (Sonet never drops records: worth a look).
    vanished: list[str] = field(default_factory=list)

    def lag_seconds(self, now: datetime) -> float | None:
        """Seconds between now and the newest `dateModified` in the store."""
        return None if self.newest_modified is None else max(0.0, (now - self.newest_modified).total_seconds())


def sync_entity(
    client: SonetQueryClient,
    store: Store,
    entity: Entity,
    window: Window,
    *,
    run_id: str,
    partition: str,
    clock: Clock,
    batch_rows: int = BATCH_ROWS,
    page_size: int = PAGE_SIZE,
    on_page: Callable[[int, int], None] | None = None,
) -> EntitySync:
    """Read `window` of `entity` from Sonet into `store`; idempotent, so any window may be re-read.
    `on_page(pages, records)` hears after each page how many pages and records were read so far."""
    result = EntitySync(entity.name, window)
    records_read = 0
    seen_keys: set[str] | None = set() if window.kind == FULL else None
    newest_read: datetime | None = None
    batch: list[dict[str, Any]] = []

    def flush(*, last: bool = False) -> None:
        nonlocal newest_read
        # A key listed twice in a row (a faulty Sonet's duplicate) stays in one batch, where the upsert
        # sees both versions: the rows of the batch's last key wait for the next batch.
        cut = len(batch) if last else _start_of_last_key(batch, entity.key)
        if cut == 0:
            return
        frame = to_frame(entity, batch[:cut])
        if seen_keys is not None:
            seen_keys.update(frame[entity.key])
        newest = frame["dateModified"].max().to_pydatetime()
        newest_read = newest if newest_read is None else max(newest_read, newest)
        result.counts += store.upsert(entity, frame, run_id=run_id, partition=partition, synced_at=clock.now())
        del batch[:cut]

    pages = client.iter_pages(
        entity, first=page_size, modified_from=window.modified_from, modified_to=window.modified_to
    )
    with streaming_runtime():
        for page in prefetched(pages, PREFETCH_PAGES):
            result.pages += 1
            records_read += len(page.records)
            batch.extend(page.records)
            if len(batch) >= batch_rows:
                flush()
            if on_page is not None:
                on_page(result.pages, records_read)
        flush(last=True)

    if window.moves_high_water_mark and newest_read is not None:
        store.advance_high_water_mark(entity.name, newest_read)
    if seen_keys is not None:
        result.vanished = sorted(store.keys(entity.name) - seen_keys)
    store.record_success(entity.name, run_id=run_id, at=clock.now(), full=window.kind == FULL)
    result.high_water_mark = store.high_water_mark(entity.name)
    result.newest_modified = store.newest_modified(entity.name)
    return result


def _start_of_last_key(batch: list[dict[str, Any]], key: str) -> int:
    """Where the run of rows holding the batch's last key starts (the whole batch when all hold it)."""
    last = batch[-1].get(key) if batch else None
    cut = len(batch)
    while cut > 0 and batch[cut - 1].get(key) == last:
        cut -= 1
    return cut or len(batch)


def prefetched(pages: Iterator[QueryPage], depth: int) -> Iterator[QueryPage]:
    """Iterate `pages` fetched ahead in a thread, at most `depth` pages waiting; errors re-raised here."""
    waiting: queue.Queue[QueryPage | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(item: QueryPage | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def fetch() -> None:
        try:
            for page in pages:
                if not hand_over(page):
                    return
            hand_over(None)
        except BaseException as exc:  # handed to the consumer, raised there
            hand_over(exc)

    fetcher = threading.Thread(target=fetch, name="sonet-page-fetcher", daemon=True)
    fetcher.start()
    try:
        while (item := waiting.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        fetcher.join(timeout=30)
