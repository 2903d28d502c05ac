"""A chain of extensions applied to one batch, safely.

Each extension gets the records still alive as a JSON copy (it can change nothing of the core's) and
runs in a worker thread with a deadline. What it gives back is checked record by record against the
point's result schema (`schemas/`), the point's identity keys (`points.IDENTITY_KEYS`) and the
caller's `check`. An extension that raises, times out or returns the wrong number of records fails
every record it was given; a record that comes back invalid fails alone; each failure names the
extension and the reason (`ExtensionFailed.message`: "extension <name>: <reason>"). The rest flow on
to the next extension, and out.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import fastjsonschema

from sonet_pipeline.extensions.extension import Extension, ExtensionFailed
from sonet_pipeline.extensions.points import IDENTITY_KEYS, checked_point
from sonet_pipeline.extensions.schemas import RESULT, schema

#: A failure's reason is cut to this many characters.
MAX_REASON = 300

Record = dict[str, Any]
Outcome = Record | ExtensionFailed
#: The caller's own check of a result record against its input record: a problem, or None.
Check = Callable[[Record, Record], str | None]


@dataclass(frozen=True)
class Link:
    """One extension of a chain and its deadline (real seconds)."""

    extension: Extension
    timeout_seconds: float


class _TimedOut(Exception):
    pass


def run_chain(
    point: str, links: Sequence[Link], batch: Sequence[Record], *, check: Check | None = None
) -> list[Outcome]:
    """Per record of `batch`, in order: the record after every link, or why a link failed it."""
    checked_point(point)
    outcomes: list[Outcome] = _json_copy(list(batch))
    for link in links:
        alive = [index for index, outcome in enumerate(outcomes) if not isinstance(outcome, ExtensionFailed)]
        if not alive:
            break
        given = [outcomes[index] for index in alive]
        for index, outcome in zip(alive, _apply(point, link, given, check), strict=True):
            outcomes[index] = outcome
    return outcomes


def _apply(point: str, link: Link, given: list[Outcome], check: Check | None) -> list[Outcome]:
    name = link.extension.name
    try:
        returned = _call_with_deadline(link.extension, _json_copy(given), link.timeout_seconds)
    except _TimedOut:
        return _all_failed(name, f"timed out after {link.timeout_seconds:g} s", len(given))
    except Exception as exc:  # whatever an extension raises fails its records, named
        return _all_failed(name, f"raised {type(exc).__name__}: {exc}", len(given))
    if not isinstance(returned, list):
        return _all_failed(name, f"returned {type(returned).__name__}, not a list of records", len(given))
    if len(returned) != len(given):
        return _all_failed(name, f"returned {len(returned)} records for {len(given)}", len(given))
    return [_checked(point, name, before, after, check) for before, after in zip(given, returned, strict=True)]


def _checked(point: str, name: str, before: Outcome, after: Any, check: Check | None) -> Outcome:
    assert not isinstance(before, ExtensionFailed)
    if not isinstance(after, dict):
        return ExtensionFailed(name, f"returned {type(after).__name__} for a record, not an object")
    try:
        record: Record = json.loads(json.dumps(after, allow_nan=False))
    except (TypeError, ValueError) as exc:
        return ExtensionFailed(name, _cut(f"returned a record that is not JSON: {exc}"))
    try:
        _result_validator(point)(record)
    except fastjsonschema.JsonSchemaValueException as exc:
        return ExtensionFailed(name, _cut(f"returned a record its point refuses: {exc.message}"))
    for key in IDENTITY_KEYS[point]:
        if key in record and record[key] != before.get(key):
            return ExtensionFailed(name, _cut(f"changed {key} ({before.get(key)!r} to {record.get(key)!r})"))
    problem = check(record, before) if check is not None else None
    return ExtensionFailed(name, _cut(problem)) if problem else record


def _call_with_deadline(extension: Extension, payload: list[Record], seconds: float) -> Any:
    """`extension.call(payload)` in a worker thread; `_TimedOut` past `seconds` (the thread is left to end)."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = extension.call(payload)
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=work, name=f"extension-{extension.name}", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise _TimedOut
    if "error" in box:
        error: BaseException = box["error"]
        if not isinstance(error, Exception):  # SystemExit, KeyboardInterrupt: still the extension's
            raise RuntimeError(f"{type(error).__name__}: {error}")
        raise error
    return box.get("value")


def _all_failed(name: str, reason: str, count: int) -> list[Outcome]:
    failed = ExtensionFailed(name, _cut(reason))
    return [failed] * count


def _cut(text: str) -> str:
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def _json_copy(records: list[Any]) -> list[Any]:
    """A deep copy through JSON (values JSON cannot carry, such as decimals, become text)."""
    copied: list[Any] = json.loads(json.dumps(records, default=str))
    return copied


@cache
def _result_validator(point: str) -> Callable[[Any], Any]:
    item = schema(point, RESULT)["items"]
    validator: Callable[[Any], Any] = fastjsonschema.compile(item, use_default=False)
    return validator
