"""The registry of kinds: a kind's name -> what turns an `ExtensionSpec` into an `Extension`.

`python` (in-process, `python_kind.py`) is registered here; the Dagster layer registers `pipes`
(`resources/`) before it runs a flow. A kind not registered in this process fails its records, named.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from sonet_pipeline.extensions.extension import PYTHON, Extension, ExtensionSpec
from sonet_pipeline.extensions.python_kind import python_extension

KindFactory = Callable[[ExtensionSpec], Extension]

_KINDS: dict[str, KindFactory] = {PYTHON: python_extension}
_LOCK = threading.Lock()


class KindUnavailableError(LookupError):
    """No factory for the spec's kind in this process."""


def register_kind(kind: str, factory: KindFactory) -> None:
    """Make `kind` available (again: the newest factory wins)."""
    with _LOCK:
        _KINDS[kind] = factory


def registered_kinds() -> tuple[str, ...]:
    with _LOCK:
        return tuple(sorted(_KINDS))


def build_extension(spec: ExtensionSpec) -> Extension:
    """The extension `spec` declares, built by its kind's factory."""
    with _LOCK:
        factory = _KINDS.get(spec.kind)
    if factory is None:
        known = ", ".join(registered_kinds())
        raise KindUnavailableError(f"the kind {spec.kind!r} is not available in this process (available: {known})")
    return factory(spec)
