"""Which incidents are open: one message when an incident opens, one (optional) when it clears, none
for the ticks between. The state is JSON, kept where the sensor keeps its state (its cursor).

An incident whose alert reached no channel is not recorded as open: the next tick tries again. A clear
is sent once, whether it reaches a channel or not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sonet_pipeline.alerts.alert import Alert
from sonet_pipeline.alerts.notifier import Notifier


@dataclass
class OpenIncidents:
    """Per incident key: when it was notified, its kind, tenant and summary (for its clear)."""

    entries: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, value: Any) -> OpenIncidents:
        return cls({str(k): dict(v) for k, v in value.items()} if isinstance(value, dict) else {})

    def to_json(self) -> dict[str, dict[str, Any]]:
        return self.entries

    def __contains__(self, key: str) -> bool:
        return key in self.entries

    def open_keys(self, scope: str = "") -> list[str]:
        return [key for key in self.entries if key.startswith(scope)]

    def opened_at(self, key: str) -> float:
        return float(self.entries[key]["at"])

    def record(self, alert: Alert, *, delivered: bool = True) -> None:
        """`alert`'s incident is open; `delivered` false: no channel got it yet (someone retries it)."""
        self.entries[alert.key] = {
            "at": round(alert.at.timestamp(), 3),
            "kind": alert.kind,
            "tenant": alert.tenant,
            "summary": alert.summary,
            "details": alert.details,
            "delivered": delivered,
        }

    def undelivered(self) -> list[Alert]:
        """The open incidents whose alert reached no channel yet, as they were first told."""
        return [
            Alert(
                str(e["kind"]),
                key,
                str(e["summary"]),
                datetime.fromtimestamp(float(e["at"]), UTC),
                e.get("tenant"),
                details=dict(e.get("details") or {}),
            )
            for key, e in self.entries.items()
            if e.get("delivered") is False
        ]

    def clear(self, key: str, now: datetime, why: str) -> Alert:
        """Forget `key`; the alert that says it cleared."""
        entry = self.entries.pop(key)
        summary = f"cleared: {entry['summary']}"[:300]
        details = {"opened_at": datetime.fromtimestamp(float(entry["at"]), now.tzinfo).isoformat(), "why": why}
        return Alert(str(entry["kind"]), key, summary, now, entry.get("tenant"), "cleared", details)

    def open_new(self, notifier: Notifier, active: Iterable[Alert]) -> list[str]:
        """Notify each alert not open yet and record those that reached a channel (or that nobody wants);
        the failures, to report."""
        failures: list[str] = []
        for alert in active:
            if alert.key in self.entries:
                continue
            delivery = notifier.notify(alert)
            if delivery.reached_anyone or not delivery.addressed:
                self.record(alert)
            else:
                failures.extend(f"{alert.key}: {f}" for f in delivery.failures)
        return failures

    def close_gone(self, notifier: Notifier, active_keys: set[str], scope: str, now: datetime, why: str) -> int:
        """Clear each open incident of `scope` not active any more, with its message; how many."""
        gone = [key for key in self.open_keys(scope) if key not in active_keys]
        for key in gone:
            notifier.notify(self.clear(key, now, why))
        return len(gone)
