"""Where the outbox and Sonet disagree about a tenant's orders, and settling what Sonet proves sent.

`compare` is pure; `read_sonet_orders` (with a client from `sonet.clients`) and `settle` are its two
ends (Sonet's Query API, the outbox). No Dagster: `outbox reconcile` calls these directly.

Sonet's `salesOrders` list holds every order it accepted, keyed by the message's MessageId; only
acceptance binds a MessageId (the contract). The outbox holds every message the integration made.
Read Sonet first, then the outbox: a message sent in between is then `sent` in the outbox and too
recent to be missed, never a false "missing"; `read_at` is when the Sonet read began.

| kind                        | the outbox says                  | Sonet says                       |
| --------------------------- | -------------------------------- | -------------------------------- |
| `sent_but_missing_in_sonet` | sent, over the lag ago           | nothing under that MessageId     |
| `in_sonet_but_not_sent`     | pending, sending or failed       | accepted, same WebOrderNumber    |
| `order_number_mismatch`     | sent as SonetOrderNumber A / web | accepted as B, or another web    |
|                             | order W (or not sent, order W)   | order number than W              |
| `unknown_to_outbox`         | no such message for the tenant   | accepted                         |

Only `in_sonet_but_not_sent` can be settled (`Outbox.settle`: sent, with Sonet's order number). A
sent message that Sonet does not list yet is judged only once `MISSING_AFTER_SECONDS` have passed
since `sent_at`; before that it is "too recent", not a disagreement. Pending, sending and failed
messages that Sonet does not list agree: Sonet never accepted them (yet).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sonet_pipeline.outbox.model import SENT, Message, OutboxError, format_instant
from sonet_pipeline.outbox.store import Outbox
from sonet_pipeline.sonet.entities import entity
from sonet_pipeline.sonet.query import SonetQueryClient

#: The contract's 90 s visibility lag plus clock skew (as the sender's `LOOKUP_AFTER_SECONDS`).
MISSING_AFTER_SECONDS = 120.0


class Kind(StrEnum):
    SENT_BUT_MISSING = "sent_but_missing_in_sonet"
    IN_SONET_NOT_SENT = "in_sonet_but_not_sent"
    MISMATCH = "order_number_mismatch"
    UNKNOWN = "unknown_to_outbox"


@dataclass(frozen=True)
class SonetOrder:
    """One record of Sonet's `salesOrders` list."""

    message_id: str
    sonet_order_number: str
    web_order_number: str
    order_status: str | None = None
    date_modified: datetime | None = None

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> SonetOrder:
        """From a Query API node (`dateModified` with any offset)."""
        modified = record.get("dateModified")
        return cls(
            message_id=record["messageId"],
            sonet_order_number=record["sonetOrderNumber"],
            web_order_number=record["webOrderNumber"],
            order_status=record.get("orderStatus"),
            date_modified=datetime.fromisoformat(modified).astimezone(UTC) if modified else None,
        )


@dataclass(frozen=True)
class Disagreement:
    kind: Kind
    tenant: str
    message_id: str
    detail: str
    message: Message | None = None
    sonet: SonetOrder | None = None

    @property
    def settleable(self) -> bool:
        return self.kind == Kind.IN_SONET_NOT_SENT

    @property
    def order_number(self) -> str | None:
        return self.message.order_number if self.message else self.sonet.web_order_number if self.sonet else None

    def to_json(self, *, settled: bool = False) -> dict[str, Any]:
        """One line of `outbox reconcile --json`."""
        message, sonet = self.message, self.sonet
        return {
            "kind": str(self.kind),
            "tenant": self.tenant,
            "message_id": self.message_id,
            "detail": self.detail,
            "outbox": None
            if message is None
            else {
                "state": str(message.state),
                "order_number": message.order_number,
                "sonet_order_number": message.sonet_order_number,
                "sent_at": format_instant(message.sent_at),
                "error_code": message.error.code if message.error else None,
            },
            "sonet": None
            if sonet is None
            else {
                "sonet_order_number": sonet.sonet_order_number,
                "web_order_number": sonet.web_order_number,
                "order_status": sonet.order_status,
                "date_modified": format_instant(sonet.date_modified),
            },
            "settled": settled,
        }


@dataclass(frozen=True)
class Comparison:
    tenant: str
    disagreements: list[Disagreement]
    #: How many messages and Sonet orders were compared.
    messages: int
    sonet_orders: int
    #: Sent messages that Sonet does not list yet, within the lag: not judged this time.
    too_recent: list[str] = field(default_factory=list)


def compare(
    tenant: str,
    messages: Iterable[Message],
    sonet_orders: Iterable[SonetOrder],
    *,
    read_at: datetime,
    missing_after_seconds: float = MISSING_AFTER_SECONDS,
) -> Comparison:
    """Every order of `tenant` on which the outbox and Sonet's list (read from `read_at` on) disagree:
    the outbox's messages first (oldest first, as given), then the MessageIds only Sonet has."""
    ours = [m for m in messages if m.tenant == tenant]
    listed = {order.message_id: order for order in sonet_orders}
    cutoff = read_at - timedelta(seconds=missing_after_seconds)
    found: list[Disagreement] = []
    too_recent: list[str] = []
    for message in ours:
        sonet = listed.get(message.message_id)
        if sonet is None:
            if message.state == SENT and message.sent_at is not None and message.sent_at > cutoff:
                too_recent.append(message.message_id)
            elif message.state == SENT:
                found.append(_missing(tenant, message))
        else:
            disagreement = _both(tenant, message, sonet)
            if disagreement is not None:
                found.append(disagreement)
    known = {m.message_id for m in ours}
    for message_id, sonet in listed.items():
        if message_id not in known:
            detail = (
                f"Sonet lists order {sonet.sonet_order_number} (web order {sonet.web_order_number}) under a "
                f"MessageId the outbox does not have for tenant {tenant}"
            )
            found.append(Disagreement(Kind.UNKNOWN, tenant, message_id, detail, sonet=sonet))
    return Comparison(tenant, found, len(ours), len(listed), too_recent)


def _missing(tenant: str, message: Message) -> Disagreement:
    detail = (
        f"sent at {format_instant(message.sent_at)} as Sonet order {message.sonet_order_number}, "
        f"but Sonet does not list it"
    )
    return Disagreement(Kind.SENT_BUT_MISSING, tenant, message.message_id, detail, message=message)


def _both(tenant: str, message: Message, sonet: SonetOrder) -> Disagreement | None:
    """A message Sonet lists: None when they agree."""
    same_web = sonet.web_order_number == message.order_number
    if message.state == SENT and same_web and sonet.sonet_order_number == message.sonet_order_number:
        return None
    if message.state == SENT or not same_web:
        ours = f"Sonet order {message.sonet_order_number}" if message.state == SENT else f"{message.state}"
        detail = (
            f"the outbox has {ours} for web order {message.order_number}; Sonet lists Sonet order "
            f"{sonet.sonet_order_number} for web order {sonet.web_order_number}"
        )
        return Disagreement(Kind.MISMATCH, tenant, message.message_id, detail, message=message, sonet=sonet)
    detail = f"Sonet lists it as order {sonet.sonet_order_number}; the outbox says {message.state} (--settle)"
    return Disagreement(Kind.IN_SONET_NOT_SENT, tenant, message.message_id, detail, message=message, sonet=sonet)


def read_sonet_orders(client: SonetQueryClient) -> list[SonetOrder]:
    """Every order of Sonet's `salesOrders` list, page by page with cursors."""
    pages = client.iter_pages(entity("sales_orders"))
    return [SonetOrder.from_record(record) for page in pages for record in page.records]


def settle(
    outbox: Outbox, disagreements: Sequence[Disagreement], *, actor: str, now: Callable[[], datetime]
) -> tuple[set[str], list[str]]:
    """Mark each settleable message `sent` with Sonet's order number: the ids settled, and why any
    was not (it moved meanwhile, e.g. a send run recorded it as another Sonet order)."""
    settled: set[str] = set()
    refusals: list[str] = []
    for disagreement in disagreements:
        if not disagreement.settleable or disagreement.sonet is None:
            continue
        number = disagreement.sonet.sonet_order_number
        try:
            outbox.settle(disagreement.message_id, sonet_order_number=number, actor=actor, now=now())
        except OutboxError as refused:
            refusals.append(str(refused))
            continue
        settled.add(disagreement.message_id)
    return settled, refusals
