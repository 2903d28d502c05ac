"""How far a long step has come, told to whoever watches it, a few times a second at most.

A step (a tenant's sync, send or shop publish) tells a `ProgressReporter` what it has done so far;
the reporter passes a `Progress` on to its sink as one line of text (`encode`), at most once per
`every` seconds per task, the first and the finished report always. The sink is the run's log
(`assets/progress.py`); the CLI reads the lines back from the run's event log (`decode`) and draws
them on the terminal (`cli/runs/progress_line.py`). A run reports only when asked: the CLI tags its
runs with `PROGRESS_TAG` when it shows progress, so the daemon's runs record no progress at all.
No Dagster here.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass

from sonet_pipeline.common.clock import Clock

#: A run tagged with this reports its progress in its log (the value: seconds between reports).
PROGRESS_TAG = "sonet/progress"
#: Seconds between two reports of one task, unless the run's tag says otherwise.
PROGRESS_SECONDS = 1.0
_PREFIX = "progress "


@dataclass(frozen=True)
class Progress:
    """What one task of a step has done: `done` of `total` (None: not known ahead) `unit`."""

    flow: str  # "sync", "send", "shop"
    tenant: str
    task: str  # the entity synced, "orders", "files"
    done: int
    unit: str  # what `done` counts: "records", "sent", "files"
    total: int | None = None
    pages: int | None = None
    seconds: float = 0.0  # since the task started, on the step's clock
    finished: bool = False
    note: str = ""  # what else a person wants to know ("initial load", "3 failed", the file being built)
    rated: bool = True  # whether a rate (and so an ETA) means something for this unit

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.flow, self.tenant, self.task)


def encode(progress: Progress) -> str:
    """The report as one log message: a fixed prefix, then its fields as JSON."""
    return _PREFIX + json.dumps(asdict(progress), separators=(",", ":"))


def decode(message: str) -> Progress | None:
    """The report a log message carries; None for any other message."""
    if not message.startswith(_PREFIX):
        return None
    try:
        fields = json.loads(message[len(_PREFIX) :])
        return Progress(**fields) if isinstance(fields, dict) else None
    except (ValueError, TypeError):
        return None


def interval_of(tag_value: str | None) -> float | None:
    """Seconds between reports a run's `PROGRESS_TAG` asks for; None when the run does not ask."""
    if tag_value is None:
        return None
    try:
        seconds = float(tag_value)
    except ValueError:
        return PROGRESS_SECONDS
    return seconds if seconds > 0 else PROGRESS_SECONDS


class ProgressReporter:
    """One step's reports: each task timed from its first report, each passed to `sink` at most once
    per `every` seconds (on `clock`), its first and its finished report always. Thread-safe."""

    def __init__(
        self, sink: Callable[[str], None], clock: Clock, *, flow: str, tenant: str, every: float = PROGRESS_SECONDS
    ) -> None:
        self._sink, self._clock, self._every = sink, clock, every
        self._flow, self._tenant = flow, tenant
        self._started: dict[str, float] = {}
        self._told: dict[str, float] = {}
        self._lock = threading.Lock()

    def tell(
        self,
        task: str,
        done: int,
        *,
        unit: str,
        total: int | None = None,
        pages: int | None = None,
        finished: bool = False,
        note: str = "",
        rated: bool = True,
    ) -> None:
        now = self._clock.monotonic()
        with self._lock:
            started = self._started.setdefault(task, now)
            last = self._told.get(task)
            if not finished and last is not None and now - last < self._every:
                return
            self._told[task] = now
        progress = Progress(
            self._flow, self._tenant, task, done, unit, total, pages, round(now - started, 3), finished, note, rated
        )
        self._sink(encode(progress))
