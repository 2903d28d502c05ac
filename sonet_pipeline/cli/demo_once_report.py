"""What `demo --once` reports: each stage, whether it passed and what it saw; the summary for a person
(a line per stage, a closing line) and for a script (`as_json`: one document, keys stable)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class StageFailed(Exception):
    """A stage did not do what it must; the message says what happened."""


@dataclass
class Stage:
    name: str
    ok: bool
    seconds: float
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "seconds": round(self.seconds, 1), "detail": self.detail}


@dataclass
class OnceReport:
    world: Path
    stages: list[Stage] = field(default_factory=list)
    #: tenant -> kind of order -> the order numbers posted
    orders: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def failed_stage(self) -> str | None:
        return next((stage.name for stage in self.stages if not stage.ok), None)

    @property
    def success(self) -> bool:
        return bool(self.stages) and self.failed_stage is None

    def as_json(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "failed_stage": self.failed_stage,
            "seconds": round(self.seconds, 1),
            "data_dir": str(self.world),
            "stages": [stage.as_json() for stage in self.stages],
            "orders": self.orders,
        }

    def closing_line(self) -> str:
        if self.success:
            return f"demo --once: every stage passed in {self.seconds:.1f} s ({self.world})"
        return f"demo --once: FAILED at stage {self.failed_stage!r}; logs in {self.world / 'logs'}"


def stage_line(stage: Stage) -> str:
    return f"  {'ok' if stage.ok else 'FAILED':6} {stage.name:13} {stage.detail}   ({stage.seconds:.1f} s)"
