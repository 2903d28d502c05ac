"""One tenant's send: claim the due messages a few seconds at a time, build what is not built yet,
send within the limits.

Each message is built once from its web order (`orders/sales_order_xml.py`, variant attributes read
from the sync's published snapshot, never its DuckDB file) and stored as built; every later attempt
sends those same bytes. Up to the tenant's max in flight go in parallel through its throttle. A run
holds only what the tenant's rate sends in a few seconds, claims more as those go, and renews its
claims while it lives (`outbound/claims.py`): killed, its messages are claimable again within
`CLAIM_SECONDS` (10 s). Each answer settles its message (`outbound/settlement.py`, the table of what
each outcome means); refused credentials (401, 403) stop the tenant: unsent messages are released, the
run fails loudly.

A run waits for its own lost answers' retry times when they come within `LOST_WAIT_SECONDS`
(`claims.py`); a later one is the next run's (the order sensor asks for a run when it is due).

Every attempt is kept in the tenant's audit archive, when one is given, before the outbox moves
(`outbound/attempt_archive.py`); a write that fails never stops the send and is reported, never silent
(`SendReport.archive_failures`, the message and attempt in `archive_gaps`).
"""

from __future__ import annotations

import logging
import queue
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from sonet_pipeline.archive.store import TenantArchive
from sonet_pipeline.common.clock import Clock
from sonet_pipeline.extensions.chains import TenantChains
from sonet_pipeline.orders.sales_order_xml import Unmappable, build_sales_order
from sonet_pipeline.outbound.attempt_archive import AttemptArchiver
from sonet_pipeline.outbound.claims import CLAIM_SECONDS, RENEW_SECONDS, HeldClaims, LostAnswers, claim_size
from sonet_pipeline.outbound.order_extensions import extended_orders, extended_sales_orders
from sonet_pipeline.outbound.send_report import SendReport
from sonet_pipeline.outbound.settlement import Settlement, answer_lost
from sonet_pipeline.outbound.variant_attributes import VariantAttributes
from sonet_pipeline.outbox.model import Message, OutboxError
from sonet_pipeline.outbox.store import Outbox
from sonet_pipeline.sonet.message import REFUSED, SendOutcome, SonetMessageClient
from sonet_pipeline.sonet.retry import RetryPolicy

#: How long the run's main thread waits for an answer before it looks again at what is due (real time).
_POLL_SECONDS = 0.5
#: Waiting for a lost answer's retry time, the run looks for new due messages this often.
_IDLE_SECONDS = 1.0

log = logging.getLogger(__name__)

#: What one attempt gave: Sonet's outcome (None: not sent) and whether the archive kept it whole.
Attempt = tuple[SendOutcome | None, bool]


class _Count:
    """An int that threads add to."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def add(self, amount: int) -> None:
        with self._lock:
            self.value += amount


class TenantRefusedError(RuntimeError):
    """Sonet refused the tenant's credentials: nothing more is sent for it until they are fixed."""


@dataclass
class Sender:
    tenant: str
    outbox: Outbox
    client: SonetMessageClient
    variant_attributes: VariantAttributes
    clock: Clock
    owner: str
    retry_window: timedelta
    in_flight: int
    #: The tenant's Message API rate (messages per second): how much a run claims at once.
    rate: float
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    lookup: Callable[[str], dict[str, Any] | None] | None = None  # salesOrder(messageId), for lost answers
    rng: random.Random = field(default_factory=random.Random)
    archive: TenantArchive | None = None  # the tenant's audit archive: every attempt's bytes and answer
    renew_every: float = RENEW_SECONDS  # real seconds between renewals of the run's claims
    #: The tenant's extensions: its `web_order` and `sales_order` points apply to what is built here.
    extensions: TenantChains | None = None

    @property
    def _settlement(self) -> Settlement:
        """Settles by Sonet's answers with this sender's outbox, owner, retry window and policy."""
        return Settlement(
            outbox=self.outbox,
            owner=self.owner,
            clock=self.clock,
            retry_window=self.retry_window,
            retry=self.retry,
            rng=self.rng,
            lookup=self.lookup,
        )

    def send_due(self, *, limit: int = 1000, on_answer: Callable[[SendReport], None] | None = None) -> SendReport:
        """Claim, build and send up to `limit` due messages (resends of this run's lost answers count),
        a few seconds' worth at a time; settle each by its answer. `on_answer` hears the report so far
        after each answer is settled."""
        report = SendReport(self.tenant)
        started = self.clock.monotonic()
        size = claim_size(self.rate, self.in_flight)
        held = HeldClaims(self.outbox, self.owner, self.clock, renew_every=self.renew_every)
        archiver = AttemptArchiver(self.tenant, self.archive, self.clock)
        lost = LostAnswers()
        stop = threading.Event()  # refused credentials, or the run failed: what is queued is not sent
        refusal: list[SendOutcome] = []
        queued = 0  # messages handed to the pool whose attempt is not settled yet
        waiting = _Count()  # of those, the ones no worker has taken up yet
        answers: queue.SimpleQueue[tuple[Message, Attempt | BaseException]] = queue.SimpleQueue()
        drained = False  # the last claim came back short: claim again when the queue is empty or a lost answer is due

        def attempt(message: Message) -> None:
            waiting.add(-1)
            try:
                if stop.is_set():
                    answers.put((message, (None, True)))
                    return
                xml = message.xml or b""
                entry, kept = archiver.request(message, xml)
                outcome = self.client.send(xml)
                answers.put((message, (outcome, archiver.answer(message, entry, outcome, xml) and kept)))
            except BaseException as error:  # raised in the run's main thread
                answers.put((message, error))

        pool = ThreadPoolExecutor(max_workers=max(1, self.in_flight), thread_name_prefix=f"send-{self.tenant}")
        try:
            with held.heartbeat():
                while True:
                    now = self.clock.now()
                    # Claim more when the workers' queue is half empty; held: at most twice the size
                    # (answers this thread has not settled yet included).
                    room = min(size - waiting.value, limit - report.claimed, 2 * size - len(held))
                    if (
                        not stop.is_set()
                        and room > 0
                        and waiting.value <= size // 2
                        and (not drained or not queued or lost.any_due(now))
                    ):
                        claimed = self.outbox.claim(
                            self.tenant, now=now, limit=room, owner=self.owner, claim_seconds=CLAIM_SECONDS
                        )
                        drained = len(claimed) < room
                        lost.claimed_at(now)
                        held.add(m.message_id for m in claimed)
                        report.claimed += len(claimed)
                        ready = self._prepare(claimed, report)
                        waiting.add(len(ready))
                        for message in ready:
                            pool.submit(attempt, message)
                        queued += len(ready)
                        for gone in {m.message_id for m in claimed} - {m.message_id for m in ready}:
                            held.discard(gone)
                    if queued:
                        try:
                            message, result = answers.get(timeout=_POLL_SECONDS)
                        except queue.Empty:
                            continue
                        queued -= 1
                        if isinstance(result, BaseException):
                            raise result
                        outcome, kept = result
                        self._answered(message, outcome, kept, held, lost, report)
                        if on_answer is not None:
                            on_answer(report)
                        if outcome is not None and outcome.kind == REFUSED and not stop.is_set():
                            stop.set()
                            refusal.append(outcome)
                        continue
                    pause = lost.seconds_to_next(now)
                    if stop.is_set() or report.claimed >= limit or pause is None:
                        break
                    self.clock.sleep(min(pause, _IDLE_SECONDS))  # then claim again: new orders too
        finally:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
        report.seconds = self.clock.monotonic() - started
        if refusal:
            raise TenantRefusedError(refusal[0].message)
        return report

    def _answered(
        self,
        message: Message,
        outcome: SendOutcome | None,
        kept: bool,
        held: HeldClaims,
        lost: LostAnswers,
        report: SendReport,
    ) -> None:
        """One attempt is over: the message settled by its answer, or released when it was not sent."""
        if not kept:
            report.archive_failures += 1
            report.archive_gaps.append(f"{message.message_id} attempt {message.attempts}")
        try:
            with held.settling(message.message_id):
                if outcome is None or outcome.kind == REFUSED:
                    self.outbox.release(
                        message.message_id,
                        actor=self.owner,
                        now=self.clock.now(),
                        reason="not sent: Sonet refused the tenant's credentials",
                        owner=self.owner,
                    )
                    return
                retry_at = self._settlement.settle(message, outcome, report)
        except OutboxError:
            now = self.outbox.get(message.message_id)
            if now is None or now.claimed_by == self.owner:
                raise
            # The claim expired before this run settled it (the run stalled): the run holding it now
            # resends the same bytes and settles it by Sonet's answer (DUPLICATE if this one arrived).
            log.warning(
                "tenant %s: message %s is %s, claimed by %s: its claim expired before %s settled it",
                self.tenant,
                message.message_id,
                now.state,
                now.claimed_by or "nobody",
                self.owner,
            )
            report.claims_lost += 1
            return
        if retry_at is not None:
            lost.note(message.message_id, retry_at, self.clock.now())

    def _prepare(self, claimed: list[Message], report: SendReport) -> list[Message]:
        """The claimed messages to send, with their bytes, those built now stored as built in one
        transaction; a message settled here instead (unmappable, or looked up) is not among them."""
        unbuilt = {m.message_id for m in claimed if m.xml is None}
        orders = extended_orders(self.extensions, [m for m in claimed if m.xml is None])
        ready = [m for m in (self._ready(message, report, orders) for message in claimed) if m is not None]
        extended = extended_sales_orders(self.extensions, [m for m in ready if m.message_id in unbuilt])
        ready = [m for m in (self._extended(m, report, extended) for m in ready) if m is not None]
        built = [(m.message_id, m.xml or b"") for m in ready if m.message_id in unbuilt]
        if built:
            self.outbox.record_built_many(built, now=self.clock.now(), owner=self.owner)
            report.built += len(built)
        return ready

    def _ready(
        self, message: Message, report: SendReport, orders: dict[str, dict[str, Any] | Unmappable]
    ) -> Message | None:
        """The message with its bytes (built now when it had none, from its web order as the tenant's
        extensions left it, `orders`), to be sent; None when it is settled here instead."""
        settlement = self._settlement
        if settlement.window_closed(message, self.clock.now()) and answer_lost(message):
            settlement.look_up_or_give_up(message, report)
            return None
        if message.xml is not None:
            return message
        order = orders.get(message.message_id, message.order)
        built = (
            order
            if isinstance(order, Unmappable)
            else build_sales_order(order, message_id=message.message_id, variant_attributes=self.variant_attributes)
        )
        if isinstance(built, Unmappable):
            self._unbuildable(message, built, report)
            return None
        return replace(message, xml=built.xml)

    def _extended(
        self, message: Message, report: SendReport, extended: dict[str, bytes | Unmappable]
    ) -> Message | None:
        """The message with its XML as the tenant's `sales_order` extensions left it; None when failed."""
        if message.message_id not in extended:
            return message
        xml = extended[message.message_id]
        if isinstance(xml, Unmappable):
            self._unbuildable(message, xml, report)
            return None
        return replace(message, xml=xml)

    def _unbuildable(self, message: Message, why: Unmappable, report: SendReport) -> None:
        self.outbox.mark_failed(
            message.message_id,
            code=why.code,
            message=why.message,
            field=why.field,
            actor=self.owner,
            now=self.clock.now(),
            owner=self.owner,
        )
        report.failed[why.code] += 1
