"""argparse value types shared by the `sonet-pipeline` commands and the stand-in's flags."""

from __future__ import annotations

import argparse
from datetime import datetime


def instant(text: str) -> datetime:
    """An ISO-8601 timestamp with a UTC offset; argparse names the flag when it is not one."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 timestamp: {text!r}") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"needs a UTC offset, e.g. 2026-11-28T04:38:00Z: {text!r}")
    return value


def non_negative_number(text: str, unit: str = "") -> float:
    """A finite number, 0 or more (of `unit`, named in the error); argparse names the flag when it is not one."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number{' of ' + unit if unit else ''}: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"not 0 or more{' ' + unit if unit else ''}: {text!r}")
    return value


def non_negative_seconds(text: str) -> float:
    """A number of seconds, 0 or more; argparse names the flag when it is not one."""
    return non_negative_number(text, "seconds")


def whole_number(text: str, minimum: int = 0) -> int:
    """A whole number, `minimum` or more; argparse names the flag when it is not one."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"not {minimum} or more: {text!r}")
    return value


def positive_whole_number(text: str) -> int:
    """A whole number, 1 or more; argparse names the flag when it is not one."""
    return whole_number(text, 1)
