"""The in-process kind: a Python callable registered under the entry-point group
`sonet_pipeline.extensions` by a separately installed package, looked up by its entry-point name.

The callable takes the batch (a list of JSON-ready dicts) and returns a list of dicts, one per record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from sonet_pipeline.extensions.extension import ExtensionSpec

GROUP = "sonet_pipeline.extensions"

BatchCallable = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


class UnknownEntryPointError(LookupError):
    """No installed package registers the name under `GROUP`."""


def entry_point_names() -> list[str]:
    """Every name registered under `GROUP` by the installed packages, sorted."""
    return sorted({ep.name for ep in entry_points(group=GROUP)})


def find_entry_point(name: str) -> EntryPoint:
    """The entry point `name` of `GROUP`, or an error naming the installed ones."""
    found = entry_points(group=GROUP, name=name)
    for entry_point in found:
        return entry_point
    known = ", ".join(entry_point_names()) or "none"
    raise UnknownEntryPointError(f"no entry point named {name!r} in the group {GROUP} (installed: {known})")


def load_callable(name: str) -> BatchCallable:
    """The callable behind the entry point `name`."""
    loaded = find_entry_point(name).load()
    if not callable(loaded):
        raise TypeError(f"the entry point {name!r} of {GROUP} is not callable: {type(loaded).__name__}")
    return loaded  # type: ignore[no-any-return]


@dataclass(frozen=True)
class PythonExtension:
    """An `Extension` over a loaded callable."""

    name: str
    point: str
    function: BatchCallable

    def call(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.function(batch)


def python_extension(spec: ExtensionSpec) -> PythonExtension:
    """The kind's factory: the spec's name looked up as an entry point."""
    return PythonExtension(spec.name, spec.point, load_callable(spec.name))
