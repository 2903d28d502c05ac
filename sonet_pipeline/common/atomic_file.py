"""Replacing a file whole: a reader sees the old or the new version, never half of one, even after a crash."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_atomically(target: Path, write: Callable[[str], Any]) -> None:
    """`write(temporary path)` beside `target`, fsync it, rename it over `target`, fsync the folder."""
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")  # hidden, same file system
    try:
        write(str(temporary))
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a crash
    finally:
        os.close(folder)


def write_bytes_atomically(target: Path, data: bytes) -> None:
    write_atomically(target, lambda temporary: Path(temporary).write_bytes(data))
