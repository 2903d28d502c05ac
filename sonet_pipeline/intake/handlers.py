"""What the intake does with a request it admitted: judge the order or batch, check the tenant's
published rights, store through the group commit, and answer (routes and codes: `app.py`).

A NOT_ALLOWED order is refused (nothing stored), unless the tenant's `order_rights.not_allowed` is
`store_failed`: it is then stored `failed` (code NOT_ALLOWED) in the same transaction, never claimed
by a send run, and the 422 names the message (`message_id`, `state`). An order the rights let in is
then judged for its prices (`price_gate`): lines not at the buyer's price are flagged (the answer's
`price_mismatches`, kept with the message), or, with the tenant's `order_prices.mismatch: refuse`,
the order is refused 422 PRICE_MISMATCH (nothing stored; the same order stored before is answered
as stored). Validation (fastjsonschema,
~25 µs an order) runs inline; a batch is parsed and judged in a worker thread so a large one does not
stall the event loop. Errors of the outbox are 503 (not the sender's fault, retry later).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.intake.admission import Admission
from sonet_pipeline.intake.answers import (
    Json,
    Refusal,
    error_response,
    kept_error,
    rights_unknown,
    stored_body,
    unavailable,
)
from sonet_pipeline.intake.bodies import check_media_type, judge_batch, parse, read_capped
from sonet_pipeline.intake.committer import GroupCommitter
from sonet_pipeline.intake.openapi import openapi_document
from sonet_pipeline.intake.payload import (
    MAX_BATCH_BYTES,
    MAX_ORDER_BYTES,
    first_problem,
    judge_order,
    may_hold_surrogates,
)
from sonet_pipeline.intake.price_gate import BuyerPrices, PublishedPrices, judge_prices, price_error, price_notes
from sonet_pipeline.intake.rights_gate import (
    RIGHTS_UNKNOWN,
    PublishedRights,
    is_account_order,
    judge_rights,
)
from sonet_pipeline.outbox import Enqueued
from sonet_pipeline.outbox.model import FAILED
from sonet_pipeline.outbox.moves import OrderError
from sonet_pipeline.rights.book import RightsBook

log = logging.getLogger(__name__)

#: Batches above this many bytes are parsed and judged in a worker thread.
_INLINE_BATCH_BYTES = 64 * 1024


def _number(order: Any) -> str:
    """The order number for a log line, quoted and ASCII-escaped (a refused order's may be anything)."""
    number = order.get("orderNumber") if isinstance(order, dict) else None
    return ascii(number[:40]) if isinstance(number, str) else "(none)"


class Intake:
    """The routes' handlers, over the admission, the group commit and the published rights."""

    def __init__(
        self,
        admission: Admission,
        committer: GroupCommitter,
        rights: PublishedRights | None = None,
        prices: PublishedPrices | None = None,
    ) -> None:
        self.admission = admission
        self.committer = committer
        self.rights = rights or PublishedRights()
        self.prices = prices or PublishedPrices(self.rights.snapshot_for, clock=self.rights.clock)

    async def post_order(self, request: Request) -> Response:
        try:
            tenant = await self.admission.admit(request)
            check_media_type(request)
            body = await read_capped(request, MAX_ORDER_BYTES)
            order = parse(body)
        except Refusal as refusal:
            return refusal.response
        problems = judge_order(order, check_text=may_hold_surrogates(body))
        if problems:
            first = first_problem(problems)
            log.info("tenant %s: order %s refused: %s at %s", tenant.name, _number(order), first.code, first.field)
            return error_response(422, first.code, first.message, first.field)
        book = await self._book(tenant) if is_account_order(order) else None
        denied = judge_rights(tenant, order, book)
        failures: list[OrderError | None] | None = None
        if denied is not None:
            log.info(
                "tenant %s: order %s %s by rule %s at %s",
                tenant.name,
                _number(order),
                denied.code,
                ascii(denied.rule),
                denied.field,
            )
            if denied.code == RIGHTS_UNKNOWN:
                return rights_unknown(denied)
            if tenant.order_rights.not_allowed == "refuse":
                return await self._refuse(tenant, order, {"error": denied.error()})
            failures = [kept_error(denied)]
        mismatches = judge_prices(order, await self._prices(tenant))
        if mismatches:
            fields = ", ".join(mismatch.field for mismatch in mismatches)
            log.info("tenant %s: order %s PRICE_MISMATCH at %s", tenant.name, _number(order), fields)
            if denied is None and tenant.order_prices.mismatch == "refuse":
                return await self._refuse(tenant, order, {"error": price_error(order, mismatches)})
        flags = price_notes(mismatches)
        try:
            [outcome] = await self.committer.submit(tenant.name, [order], failures, [flags] if flags else None)
        except Exception as exc:
            return unavailable(tenant.name, exc)
        noted = {"price_mismatches": flags} if flags else {}
        if denied is not None and isinstance(outcome, Enqueued) and outcome.state == FAILED:
            log.info("tenant %s: order %s kept as failed %s", tenant.name, _number(order), outcome.message_id)
            return Json({"error": denied.error(), **stored_body(outcome), **noted}, 422)
        if isinstance(outcome, Enqueued):
            log.info("tenant %s: order %s %s as %s", tenant.name, _number(order), _verb(outcome), outcome.message_id)
            return Json({**stored_body(outcome), **noted}, 202 if outcome.created else 200)
        log.info("tenant %s: order %s conflicts with %s", tenant.name, _number(order), outcome.message_id)
        return error_response(409, "ORDER_CONFLICT", str(outcome), "orderNumber", message_id=outcome.message_id)

    async def _refuse(self, tenant: Tenant, order: dict[str, Any], body: dict[str, Any]) -> Response:
        """422 with `body` (NOT_ALLOWED, PRICE_MISMATCH), nothing stored; but the same order stored before
        (before its rights or prices changed) is answered as stored, as the same order again always is."""
        try:
            [existing] = await self.committer.stored(tenant.name, [order])
        except Exception as exc:
            return unavailable(tenant.name, exc)
        if existing is not None:
            return Json(stored_body(existing), 200)
        return Json(body, 422)

    async def post_batch(self, request: Request) -> Response:
        try:
            tenant = await self.admission.admit(request)
            check_media_type(request)
            body = await read_capped(request, MAX_BATCH_BYTES)
            book = await self._book(tenant)
            prices = await self._prices(tenant)
            if len(body) > _INLINE_BATCH_BYTES:
                judged = await asyncio.to_thread(judge_batch, body, tenant, book, prices)
            else:
                judged = judge_batch(body, tenant, book, prices)
        except Refusal as refusal:
            return refusal.response
        orders, answers, refusals, flags = judged.orders, judged.answers, judged.refusals, judged.price_flags
        try:
            refused = {index: {"error": refusal.error()} for index, refusal in refusals.items()}
            if tenant.order_rights.not_allowed != "refuse":
                refused = {}
            refused.update(judged.price_refusals)  # never an order the rights refused (`judge_batch`)
            if refused:
                await self._refuse_entries(tenant, orders, answers, refused)
            if tenant.order_rights.not_allowed == "refuse":
                refusals = {}
            valid = [index for index, answer in enumerate(answers) if answer is None]
            failures = [kept_error(refusals[index]) if index in refusals else None for index in valid]
            kept_flags = [flags.get(index) for index in valid]
            outcomes = await self.committer.submit(
                tenant.name,
                [orders[index] for index in valid],
                failures if refusals else None,
                kept_flags if any(kept_flags) else None,
            )
        except Exception as exc:
            return unavailable(tenant.name, exc)
        for index, outcome in zip(valid, outcomes, strict=True):
            noted = {"price_mismatches": flags[index]} if index in flags else {}
            if index in refusals and isinstance(outcome, Enqueued) and outcome.state == FAILED:
                answers[index] = {"status": 422, **stored_body(outcome), "error": refusals[index].error(), **noted}
            elif isinstance(outcome, Enqueued):
                answers[index] = {"status": 202 if outcome.created else 200, **stored_body(outcome), **noted}
            else:
                error = {"code": "ORDER_CONFLICT", "message": str(outcome), "field": "orderNumber"}
                answers[index] = {"status": 409, "message_id": outcome.message_id, "error": error}
        counts: dict[int, int] = {}
        for answer in answers:
            assert answer is not None
            counts[answer["status"]] = counts.get(answer["status"], 0) + 1
        log.info("tenant %s: batch of %d orders, by status %s", tenant.name, len(answers), counts)
        return Json(answers, 200)

    async def _refuse_entries(
        self,
        tenant: Tenant,
        orders: list[Any],
        answers: list[dict[str, Any] | None],
        refusals: dict[int, dict[str, Any]],
    ) -> None:
        """The batch's refused entries (NOT_ALLOWED, PRICE_MISMATCH; by index, the 422 body): 422, or 200
        for an order the outbox holds already (`_refuse`)."""
        indices = sorted(refusals)
        existing = await self.committer.stored(tenant.name, [orders[index] for index in indices])
        for index, found in zip(indices, existing, strict=True):
            if found is None:
                answers[index] = {"status": 422, **refusals[index]}
            else:
                answers[index] = {"status": 200, **stored_body(found)}

    async def health(self, request: Request) -> Response:
        if not self.committer.running:
            return error_response(503, "STOPPED", "the outbox writer is not running")
        return Json({"status": "ok"}, 200)

    async def openapi(self, request: Request) -> Response:
        return Json(openapi_document(), 200)

    async def _prices(self, tenant: Tenant) -> BuyerPrices | None:
        """The tenant's published prices (read in a worker thread when they must be read again)."""
        if self.prices.fresh(tenant.name):
            return self.prices.get(tenant)
        return await asyncio.to_thread(self.prices.get, tenant)

    async def _book(self, tenant: Tenant) -> RightsBook | None:
        """The tenant's published rights (read in a worker thread when they must be read again)."""
        if self.rights.fresh(tenant.name):
            return self.rights.book(tenant)
        return await asyncio.to_thread(self.rights.book, tenant)


def _verb(outcome: Enqueued) -> str:
    return "stored" if outcome.created else "already stored"
