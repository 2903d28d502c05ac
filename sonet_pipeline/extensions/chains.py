"""A tenant's chains: its extensions by point, built once (by their kind) and applied per batch.

An extension that cannot be built (its entry point gone, its kind not available in this process)
fails the records given to it, named, like one that raises; the tenant's other points still run.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from sonet_pipeline.extensions.extension import Extension, ExtensionSpec
from sonet_pipeline.extensions.kinds import build_extension
from sonet_pipeline.extensions.points import checked_point
from sonet_pipeline.extensions.python_kind import PythonExtension
from sonet_pipeline.extensions.runner import Check, Link, Outcome, Record, run_chain


class TenantChains:
    """One tenant's extensions, by point, in the order its file lists them."""

    def __init__(self, tenant: str, specs: Sequence[ExtensionSpec]) -> None:
        self.tenant = tenant
        self._specs: dict[str, list[ExtensionSpec]] = {}
        for spec in specs:
            if spec.tenant != tenant:
                raise ValueError(f"extension {spec.name!r} is tenant {spec.tenant!r}'s, not {tenant!r}'s")
            self._specs.setdefault(checked_point(spec.point), []).append(spec)
        self._links: dict[str, list[Link]] = {}
        self._lock = threading.Lock()

    def has(self, point: str) -> bool:
        """Whether any extension is declared at `point`."""
        return bool(self._specs.get(checked_point(point)))

    def names(self, point: str) -> list[str]:
        return [spec.name for spec in self._specs.get(point, [])]

    def apply(self, point: str, batch: Sequence[Record], *, check: Check | None = None) -> list[Outcome]:
        """Each record of `batch` through the chain at `point` (unchanged when there is none)."""
        if not self.has(point):
            return list(batch)
        return run_chain(point, self._chain(point), batch, check=check)

    def apply_each(self, point: str, batch: Sequence[Record]) -> list[tuple[str, list[Outcome]]]:
        """Each extension at `point` on the same `batch`, alone (the rights point: each one's
        restrictions, combined by the caller): per extension its name and outcomes."""
        if not self.has(point):
            return []
        return [(link.extension.name, run_chain(point, [link], batch)) for link in self._chain(point)]

    def _chain(self, point: str) -> list[Link]:
        with self._lock:
            if point not in self._links:
                self._links[point] = [Link(_built(spec), spec.timeout_seconds) for spec in self._specs[point]]
            return self._links[point]


def _built(spec: ExtensionSpec) -> Extension:
    try:
        return build_extension(spec)
    except Exception as exc:  # a load failure fails the records, named, at run time
        return _unbuildable(spec, f"{type(exc).__name__}: {exc}")


def _unbuildable(spec: ExtensionSpec, reason: str) -> Extension:
    """Stands for an extension that could not be built: every call fails with the reason."""

    def fail(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        raise RuntimeError(f"cannot be loaded: {reason}")

    return PythonExtension(spec.name, spec.point, fail)
