"""A process tuned for streaming hundreds of thousands of records: fewer GC passes, a shorter GIL switch.

Used by the sync while pages stream into the store and by the shop step while it reads snapshots.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: Allocations between young-generation collections while a sync streams (CPython's default: 700).
#: Each page brings ~10,000 new containers that live for a batch, so at the default every page
#: forced collections that promoted them, and the promoted ones forced full collections of the whole
#: process (Dagster's heap included): 0.9 s of the items phase's 4 s of CPU for 100,000 items.
GC_YOUNG_THRESHOLD = 100_000
#: Seconds a thread may hold the GIL while another waits (CPython's default: 0.005). The page fetcher
#: needs it briefly after every socket read; at the default it queued behind the batch writer's Python
#: work for up to 5 ms each time (bench/inbound_initial.py: 0.60-0.64 -> 0.77-0.82 of the ceiling).
SWITCH_INTERVAL = 0.0005

_streaming_lock = threading.Lock()
_streaming = 0  # blocks inside `streaming_runtime` now
_saved: tuple[tuple[int, ...], float] | None = None


@contextmanager
def streaming_runtime() -> Iterator[None]:
    """Tune the interpreter for streaming while the block runs; the old settings return after.

    Process-wide settings, so nested or concurrent blocks share one tuning: the first in sets it, the
    last out restores what was there before.
    """
    global _streaming, _saved
    with _streaming_lock:
        if _streaming == 0:
            _saved = (gc.get_threshold(), sys.getswitchinterval())
            thresholds = _saved[0]
            gc.set_threshold(max(GC_YOUNG_THRESHOLD, thresholds[0]), *thresholds[1:])
            sys.setswitchinterval(min(SWITCH_INTERVAL, _saved[1]))
        _streaming += 1
    try:
        yield
    finally:
        with _streaming_lock:
            _streaming -= 1
            if _streaming == 0 and _saved is not None:
                gc.set_threshold(*_saved[0])
                sys.setswitchinterval(_saved[1])
                _saved = None
