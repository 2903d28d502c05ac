"""What an extension is to the core: a name, a point, and one call per batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

#: The kinds the tenant file may name.
PYTHON = "python"
PIPES = "pipes"
KIND_NAMES = (PYTHON, PIPES)


@runtime_checkable
class Extension(Protocol):
    """One extension at one point: `call` takes the batch and returns one record per record, in order."""

    @property
    def name(self) -> str: ...

    @property
    def point(self) -> str: ...

    def call(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class ExtensionSpec:
    """An extension as a tenant file declares it (`config/extensions.py` makes these)."""

    tenant: str
    point: str
    name: str
    kind: str
    timeout_seconds: float
    #: What the kind needs beyond the name (the Pipes kind: its command or function); JSON-ready.
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExtensionFailed:
    """Why a record did not come through a chain: the extension and its reason."""

    extension: str
    reason: str

    @property
    def message(self) -> str:
        return f"extension {self.extension}: {self.reason}"
