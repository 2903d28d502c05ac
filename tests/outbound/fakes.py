"""A scripted Message API for the sender's unit tests: answers per MessageId, what it was sent, and when."""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sonet_pipeline.common.clock import Clock
from sonet_pipeline.sonet.message import ACCEPTED, DUPLICATE, UNKNOWN, SendOutcome

_MESSAGE_ID = re.compile(rb"<MessageId>([^<]+)</MessageId>")

ACCEPT = SendOutcome(ACCEPTED, 201, sonet_order_number="SO-1")
LOST = SendOutcome(UNKNOWN, message="no answer: ConnectionError: the stand-in broke it off")


@dataclass
class Sent:
    message_id: str
    xml: bytes
    at: datetime


@dataclass
class ScriptedSonet:
    """Like Sonet: the first arrival of a MessageId is ACCEPTED (order SO-<n>), later ones DUPLICATE;
    `script[message_id]` overrides the answers of its first attempts, in turn (LOST: stored, no answer).
    `before_send(message_id)` runs first in the sending thread (a test holds a send there)."""

    clock: Clock
    script: dict[str, list[SendOutcome]] = field(default_factory=dict)
    before_send: Callable[[str], None] | None = None
    sent: list[Sent] = field(default_factory=list)
    _orders: dict[str, str] = field(default_factory=dict)
    _calls: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, xml: bytes) -> SendOutcome:
        match = _MESSAGE_ID.search(xml)
        assert match, "a SalesOrder without MessageId"
        message_id = match.group(1).decode()
        if self.before_send is not None:
            self.before_send(message_id)
        with self._lock:
            self.sent.append(Sent(message_id, xml, self.clock.now()))
            call = self._calls[message_id]
            self._calls[message_id] += 1
            known = message_id in self._orders
            number = self._orders.setdefault(message_id, f"SO-{len(self._orders) + 1}")
            scripted = self.script.get(message_id, [])
            if call < len(scripted):
                return scripted[call]
        if known:
            return SendOutcome(DUPLICATE, 200, sonet_order_number=number)
        return SendOutcome(ACCEPTED, 201, sonet_order_number=number)

    def sends_of(self, message_id: str) -> list[Sent]:
        with self._lock:
            return [s for s in self.sent if s.message_id == message_id]

    def orders(self) -> dict[str, str]:
        with self._lock:
            return dict(self._orders)
