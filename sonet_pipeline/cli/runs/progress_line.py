"""The one line a CLI redraws on the terminal while its run works: what each task has done, its rate,
and the time left where the total is known.

Pure text from the steps' reports (`common/progress.py`); the rate and the time left come from the
step's own clock (a report's `seconds`), so the same reports always draw the same line. Nothing is
drawn unless both stdout and stderr are terminals and the output is not `--json` (`shows_progress`):
scripts read what they always read.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TextIO

from sonet_pipeline.common.progress import Progress

#: Below this many seconds of a task, a rate says more about start-up than about the work.
MIN_RATED_SECONDS = 0.5
CLEAR_TO_END = "\x1b[K"


def shows_progress(as_json: bool, stdout: TextIO, stderr: TextIO, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether a command draws progress: never under `--json`, only when both stdout and stderr are
    terminals (not a pipe, a file or a script's capture), and not on a terminal that cannot redraw a line."""
    if as_json or environ.get("TERM") == "dumb":
        return False
    return _is_terminal(stdout) and _is_terminal(stderr)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no such method, or a closed stream
        return False


def rate(progress: Progress) -> float | None:
    """Units done per second of the task so far; None when it means nothing yet."""
    if not progress.rated or progress.done <= 0 or progress.seconds < MIN_RATED_SECONDS:
        return None
    return progress.done / progress.seconds


def eta_seconds(progress: Progress) -> float | None:
    """Seconds left at the rate so far, when the total is known and not yet reached."""
    per_second = rate(progress)
    if per_second is None or progress.total is None or progress.finished or progress.done >= progress.total:
        return None
    return (progress.total - progress.done) / per_second


def duration_text(seconds: float) -> str:
    """`0:07`, `12:05`, `1:02:03`."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _rate_text(per_second: float) -> str:
    return f"{per_second:,.1f}/s" if per_second < 10 else f"{per_second:,.0f}/s"


def describe(progress: Progress) -> str:
    """`sync acme items: 12,000/100,000 records (12%), 4,100/s, ETA 0:22, 24 pages, full read`."""
    p = progress
    if p.total:
        counted = f"{p.done:,}/{p.total:,} {p.unit} ({min(100, 100 * p.done // p.total)}%)"
    else:
        counted = f"{p.done:,} {p.unit}"
    parts = [counted]  # what matters most first: a narrow terminal cuts the end
    per_second = rate(p)
    if per_second is not None:
        parts.append(_rate_text(per_second))
    left = eta_seconds(p)
    if left is not None:
        parts.append(f"ETA {duration_text(left)}")
    if p.finished:
        parts.append(f"done in {duration_text(p.seconds)}")
    if p.pages is not None:
        parts.append(f"{p.pages:,} page{'' if p.pages == 1 else 's'}")
    if p.note:
        parts.append(p.note)
    return f"{p.flow} {p.tenant} {p.task}: {', '.join(parts)}"


def fit(text: str, width: int) -> str:
    """`text` cut to one line of a terminal `width` columns wide (the last column left free)."""
    room = max(1, width - 1)
    return text if len(text) <= room else text[: room - 1] + "…"


class ProgressBoard:
    """The latest report of each task; the line shows the tasks still at work (one after another on a
    line), or, between two tasks, the one that finished last."""

    def __init__(self) -> None:
        self._tasks: dict[tuple[str, str, str], Progress] = {}
        self._last: Progress | None = None

    def update(self, progress: Progress) -> None:
        self._tasks[progress.key] = progress
        self._last = progress

    def line(self, width: int) -> str:
        working = [p for p in self._tasks.values() if not p.finished]
        shown = working or ([self._last] if self._last is not None else [])
        return fit(" | ".join(describe(p) for p in shown), width)


class TerminalLine:
    """One line of a terminal redrawn in place: a carriage return, the text, clear to the end of the
    line, and the cursor back at its start, so that anything else written there (a warning) covers it."""

    def __init__(self, stream: TextIO, width: Callable[[], int] | None = None) -> None:
        self._stream = stream
        self.width = width or (lambda: _columns(stream))
        self._shown = ""

    def draw(self, text: str) -> None:
        if text == self._shown:
            return
        self._stream.write(f"\r{text}{CLEAR_TO_END}\r")
        self._stream.flush()
        self._shown = text

    def clear(self) -> None:
        if self._shown:
            self._stream.write(f"\r{CLEAR_TO_END}")
            self._stream.flush()
            self._shown = ""


def _columns(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80
