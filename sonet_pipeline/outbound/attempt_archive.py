"""The sender's attempts in the tenant's audit archive: the bytes just before they are sent, then the
answer (status, headers, body) or that none came.

The archive never decides anything: a write that fails is logged, and the caller told so (it counts
and names the gap), and the send goes on as if it had succeeded, so an unavailable archive can
neither lose nor double a message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sonet_pipeline.archive.store import AttemptEntry, TenantArchive
from sonet_pipeline.common.clock import Clock
from sonet_pipeline.outbox.model import Message
from sonet_pipeline.sonet.message import SendOutcome

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AttemptArchiver:
    """One tenant's attempts into its archive; with no archive (None), every call does nothing."""

    tenant: str
    archive: TenantArchive | None
    clock: Clock

    def request(self, message: Message, xml: bytes) -> tuple[AttemptEntry | None, bool]:
        """The attempt's names and its request archived; (None, True) without an archive."""
        if self.archive is None:
            return None, True
        try:
            entry = self.archive.entry(
                message.message_id,
                message.attempts,
                self.clock.now(),
                order_number=message.order_number,
                order_version=message.version,
            )
        except ValueError as error:
            self._failed(message, "name the attempt", error)
            return None, False
        try:
            self.archive.record_request(entry, xml)
        except Exception as error:  # any failure of the archive: the send goes on
            self._failed(message, "keep the request", error)
            return entry, False
        return entry, True

    def answer(self, message: Message, entry: AttemptEntry | None, outcome: SendOutcome, xml: bytes) -> bool:
        """The answer (or that none came) archived beside its request; whether that worked."""
        if self.archive is None:
            return True
        if entry is None:  # the attempt could not be named: reported with its request
            return False
        try:
            self.archive.record_answer(entry, outcome, xml=xml, answered_at=self.clock.now())
        except Exception as error:  # any failure of the archive: the send goes on
            self._failed(message, "keep the answer", error)
            return False
        return True

    def _failed(self, message: Message, what: str, error: Exception) -> None:
        log.warning(
            "tenant %s: the archive could not %s of message %s attempt %d (%s: %s); the send goes on",
            self.tenant,
            what,
            message.message_id,
            message.attempts,
            type(error).__name__,
            str(error)[:300],
        )
