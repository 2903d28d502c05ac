"""One alert: an incident opened (or cleared), and the JSON a webhook receives for it (docs/alerts.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

SOURCE = "sonet-pipeline"
#: The version of the webhook's JSON; a new key keeps it, a changed or removed one moves it.
PAYLOAD_VERSION = 1

State = Literal["open", "cleared"]


class DeliveryError(RuntimeError):
    """An alert did not reach a channel; the message names the channel, never a password or a URL's path."""


@dataclass(frozen=True)
class Alert:
    """An incident: `kind` (one of `config.alerts.INCIDENT_KINDS`), `key` (the same for every tick of
    the same incident), the tenant it concerns (None: the deployment), a one-line summary, details."""

    kind: str
    key: str
    summary: str
    at: datetime
    tenant: str | None = None
    state: State = "open"
    details: dict[str, Any] = field(default_factory=dict)

    def cleared(self, at: datetime, summary: str) -> Alert:
        """The message that this incident is over."""
        return Alert(self.kind, self.key, summary, at, self.tenant, "cleared", dict(self.details))

    @property
    def subject(self) -> str:
        """The e-mail's subject: `[sonet-pipeline] acme: credentials_refused: ...` (CLEARED when it is)."""
        who = f"{self.tenant}: " if self.tenant else ""
        cleared = "CLEARED " if self.state == "cleared" else ""
        return f"[{SOURCE}] {cleared}{who}{self.kind}: {self.summary}"[:200]

    def payload(self) -> dict[str, Any]:
        """The webhook's JSON body. `text` is the subject, for chat webhooks that show only that field."""
        return {
            "source": SOURCE,
            "version": PAYLOAD_VERSION,
            "kind": self.kind,
            "state": self.state,
            "key": self.key,
            "tenant": self.tenant,
            "summary": self.summary,
            "at": self.at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "details": self.details,
            "text": self.subject,
        }

    def body(self) -> str:
        """The e-mail's text: the summary, then each detail on its own line."""
        lines = [self.summary, "", f"incident: {self.kind} ({self.state})", f"key: {self.key}"]
        if self.tenant:
            lines.append(f"tenant: {self.tenant}")
        lines.append(f"at: {self.payload()['at']}")
        lines.extend(f"{name}: {value}" for name, value in self.details.items())
        return "\n".join(lines) + "\n"
