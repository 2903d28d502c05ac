"""The HTTP intake: the web shop hands orders here; each valid one is in the outbox before the answer.

Routes (conventions.md, "Intake HTTP"; the full description is served at `/openapi.json`):

- `POST /tenants/{tenant}/orders`: 202 `{"message_id", "state"}` new, 200 the same order again, 409
  same orderNumber with other content (`message_id` names the stored one), 400 not JSON, 401 token,
  404 tenant, 413 over 1 MiB, 415 a Content-Type that is not JSON, 422 invalid (schema or semantic
  rule, `field` says where) or NOT_ALLOWED by the tenant's published rights (`rule`, `limit`:
  `rights_gate`), 503 with `Retry-After` when the outbox cannot store or, for an account order, the
  rights are not known before the tenant's first sync (RIGHTS_UNKNOWN). Every error body is
  `{"error": {"code", "message", "field", ...}}`.
- `POST /tenants/{tenant}/orders/batch`: a JSON array of at most 1,000 orders and 8 MiB; always 200
  with one entry per order, in order, `{"status", "message_id"?, "state"?, "error"?}`, `status` being
  what the single route would have answered for that order. The stored ones share one commit.
- `GET /openapi.json`, `GET /health`.

A NOT_ALLOWED order is refused (nothing stored), unless the tenant's `order_rights.not_allowed` is
`store_failed`: it is then stored `failed` (code NOT_ALLOWED) in the same transaction, never claimed
by a send run, and the 422 names the message (`message_id`, `state`).

Single orders are group-committed too (`committer.GroupCommitter`): orders arriving together share
one durable transaction, each answered after it. Validation (fastjsonschema, ~25 µs an order) runs
inline; a batch is parsed and judged in a worker thread so a large one does not stall the event loop.
No input yields a 5xx: errors of the outbox are 503 (not the sender's fault, retry later).

Each tenant's bearer token comes from its `intake_token_env` or `intake_token_secret` (AWS Secrets
Manager), read by `config/secrets.resolve_token`: a secret is kept 5 minutes, read in a worker thread
when it must be fetched, and read again at once (at most every 30 s) when a presented token does not
match, so a rotation is followed within seconds of the web shop's switch. A secret that cannot be
read refuses the tenant's orders with 401 (the log names the secret and the cause; the answer does
not), or with 503 and `Retry-After` when Secrets Manager is only unavailable.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sonet_pipeline.common.clock import Clock
from sonet_pipeline.config.secrets import (
    REFRESH_MIN_SECONDS,
    SECRET_CACHE,
    ClientFactory,
    SecretCache,
    TokenSource,
    TokenUnavailable,
    resolve_token,
)
from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.intake.answers import (
    RETRY_AFTER_SECONDS,
    Json,
    Refusal,
    error_response,
    kept_error,
    rights_unknown,
    stored_body,
    unauthorized,
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
from sonet_pipeline.intake.rights_gate import (
    RIGHTS_UNKNOWN,
    PublishedRights,
    RightsRefusal,
    is_account_order,
    judge_rights,
)
from sonet_pipeline.outbox import Enqueued, Outbox
from sonet_pipeline.outbox.model import FAILED
from sonet_pipeline.outbox.moves import OrderError
from sonet_pipeline.rights.book import RightsBook

log = logging.getLogger(__name__)

ACTOR = "intake"
#: Batches above this many bytes are parsed and judged in a worker thread.
_INLINE_BATCH_BYTES = 64 * 1024


def _number(order: Any) -> str:
    """The order number for a log line, quoted and ASCII-escaped (a refused order's may be anything)."""
    number = order.get("orderNumber") if isinstance(order, dict) else None
    return ascii(number[:40]) if isinstance(number, str) else "(none)"


class Intake:
    def __init__(
        self,
        tenants: list[Tenant],
        committer: GroupCommitter,
        token_lookup: Callable[[str], str | None],
        secrets: ClientFactory | None = None,
        secret_cache: SecretCache | None = None,
        rights: PublishedRights | None = None,
    ) -> None:
        self.tenants = {tenant.name: tenant for tenant in tenants}
        self.committer = committer
        self.rights = rights or PublishedRights()
        self.token_lookup = token_lookup
        self.secrets = secrets
        self.secret_cache = secret_cache or SECRET_CACHE

    async def post_order(self, request: Request) -> Response:
        try:
            tenant = await self._admit(request)
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
                return await self._refuse(tenant, order, denied)
            failures = [kept_error(denied)]
        try:
            [outcome] = await self.committer.submit(tenant.name, [order], failures)
        except Exception as exc:
            return unavailable(tenant.name, exc)
        if denied is not None and isinstance(outcome, Enqueued) and outcome.state == FAILED:
            log.info("tenant %s: order %s kept as failed %s", tenant.name, _number(order), outcome.message_id)
            return Json({"error": denied.error(), **stored_body(outcome)}, 422)
        if isinstance(outcome, Enqueued):
            log.info("tenant %s: order %s %s as %s", tenant.name, _number(order), _verb(outcome), outcome.message_id)
            return Json(stored_body(outcome), 202 if outcome.created else 200)
        log.info("tenant %s: order %s conflicts with %s", tenant.name, _number(order), outcome.message_id)
        return error_response(409, "ORDER_CONFLICT", str(outcome), "orderNumber", message_id=outcome.message_id)

    async def _refuse(self, tenant: Tenant, order: dict[str, Any], denied: RightsRefusal) -> Response:
        """422 NOT_ALLOWED, nothing stored; but the same order stored before (before its rights changed)
        is answered as stored, as the same order again always is."""
        try:
            [existing] = await self.committer.stored(tenant.name, [order])
        except Exception as exc:
            return unavailable(tenant.name, exc)
        if existing is not None:
            return Json(stored_body(existing), 200)
        return Json({"error": denied.error()}, 422)

    async def post_batch(self, request: Request) -> Response:
        try:
            tenant = await self._admit(request)
            check_media_type(request)
            body = await read_capped(request, MAX_BATCH_BYTES)
            book = await self._book(tenant)
            if len(body) > _INLINE_BATCH_BYTES:
                orders, answers, refusals = await asyncio.to_thread(judge_batch, body, tenant, book)
            else:
                orders, answers, refusals = judge_batch(body, tenant, book)
        except Refusal as refusal:
            return refusal.response
        try:
            if refusals and tenant.order_rights.not_allowed == "refuse":
                await self._refuse_entries(tenant, orders, answers, refusals)
                refusals = {}
            valid = [index for index, answer in enumerate(answers) if answer is None]
            failures = [kept_error(refusals[index]) if index in refusals else None for index in valid]
            outcomes = await self.committer.submit(
                tenant.name, [orders[index] for index in valid], failures if refusals else None
            )
        except Exception as exc:
            return unavailable(tenant.name, exc)
        for index, outcome in zip(valid, outcomes, strict=True):
            if index in refusals and isinstance(outcome, Enqueued) and outcome.state == FAILED:
                answers[index] = {"status": 422, **stored_body(outcome), "error": refusals[index].error()}
            elif isinstance(outcome, Enqueued):
                answers[index] = {"status": 202 if outcome.created else 200, **stored_body(outcome)}
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
        refusals: dict[int, RightsRefusal],
    ) -> None:
        """The batch's NOT_ALLOWED entries: 422, or 200 for an order the outbox holds already (`_refuse`)."""
        indices = sorted(refusals)
        existing = await self.committer.stored(tenant.name, [orders[index] for index in indices])
        for index, found in zip(indices, existing, strict=True):
            if found is None:
                answers[index] = {"status": 422, "error": refusals[index].error()}
            else:
                answers[index] = {"status": 200, **stored_body(found)}

    async def health(self, request: Request) -> Response:
        if not self.committer.running:
            return error_response(503, "STOPPED", "the outbox writer is not running")
        return Json({"status": "ok"}, 200)

    async def openapi(self, request: Request) -> Response:
        return Json(openapi_document(), 200)

    async def _admit(self, request: Request) -> Tenant:
        """The tenant named in the path, if the request carries its token; else a `Refusal` (404/401/503)."""
        name = request.path_params["tenant"]
        tenant = self.tenants.get(name)
        if tenant is None:
            raise Refusal(error_response(404, "UNKNOWN_TENANT", f"no tenant named {name[:40]!r}"))
        source = tenant.intake_token_source()
        if source is None:
            why = "it has no intake_token_env or intake_token_secret"
            log.warning("tenant %s: intake refused a request: %s", name, why)
            raise Refusal(unauthorized(f"the intake takes no orders for tenant {name!r}: {why}"))
        expected = await self._expected_token(name, source)
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise Refusal(unauthorized("an Authorization: Bearer <token> header is required"))
        matches = hmac.compare_digest(_bytes(presented.strip()), _bytes(expected))
        if (
            not matches
            and source.secret is not None
            and not self.secret_cache.fresh(source.secret, max_age=REFRESH_MIN_SECONDS)
        ):
            # Perhaps the secret was rotated and the web shop already uses the new token: read it again.
            expected = await self._expected_token(name, source, max_age=REFRESH_MIN_SECONDS)
            matches = hmac.compare_digest(_bytes(presented.strip()), _bytes(expected))
        if not matches:
            log.warning("tenant %s: a request with a wrong intake token", name)
            raise Refusal(unauthorized("the bearer token is not this tenant's intake token"))
        return tenant

    async def _book(self, tenant: Tenant) -> RightsBook | None:
        """The tenant's published rights (read in a worker thread when they must be read again)."""
        if self.rights.fresh(tenant.name):
            return self.rights.book(tenant)
        return await asyncio.to_thread(self.rights.book, tenant)

    async def _expected_token(self, name: str, source: TokenSource, *, max_age: float | None = None) -> str:
        """The tenant's intake token; a secret that must be fetched is read in a worker thread."""
        try:
            if source.secret is not None and not self.secret_cache.fresh(source.secret, max_age=max_age):
                return await asyncio.to_thread(self._resolve, source, max_age)
            return self._resolve(source, max_age)
        except TokenUnavailable as exc:
            log.warning("tenant %s: intake refused a request: %s", name, exc)
            if exc.transient:
                message = "the tenant's intake token cannot be read right now; retry later"
                headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
                raise Refusal(error_response(503, "TOKEN_UNAVAILABLE", message, headers=headers)) from None
            if source.secret is None:
                why = f"environment variable {source.env} is not set"
            else:  # the answer does not name the secret (its ARN names the account); the log does
                why = "its intake token cannot be read from AWS Secrets Manager (the intake's log says why)"
            raise Refusal(unauthorized(f"the intake takes no orders for tenant {name!r}: {why}")) from None

    def _resolve(self, source: TokenSource, max_age: float | None) -> str:
        token = resolve_token(
            source, env=self.token_lookup, secrets=self.secrets, cache=self.secret_cache, max_age=max_age
        )
        return token.get_secret_value()


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _verb(outcome: Enqueued) -> str:
    return "stored" if outcome.created else "already stored"


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "HTTP_ERROR")
    return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)


def create_app(
    tenants: list[Tenant],
    outbox: Outbox,
    *,
    clock: Clock | None = None,
    token_lookup: Callable[[str], str | None] = os.environ.get,
    secrets: ClientFactory | None = None,
    secret_cache: SecretCache | None = None,
    linger_seconds: float = 0.0,
    rights: PublishedRights | None = None,
) -> Starlette:
    """The intake app. The outbox writer starts and stops with the app's lifespan.

    Tokens: `token_lookup` reads an environment variable; `secrets` makes the Secrets Manager client
    for tenants whose token is a secret (without one they are refused), `secret_cache` keeps their
    values (default: the process's). `rights` reads each tenant's published rights (default: from
    the snapshot `store.open_snapshot` finds, checked every 5 s)."""
    committer = GroupCommitter(outbox, actor=ACTOR, clock=clock, linger_seconds=linger_seconds)
    intake = Intake(tenants, committer, token_lookup, secrets=secrets, secret_cache=secret_cache, rights=rights)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await committer.start()
        try:
            yield
        finally:
            await committer.stop()

    app = Starlette(
        routes=[
            Route("/tenants/{tenant}/orders", intake.post_order, methods=["POST"]),
            Route("/tenants/{tenant}/orders/batch", intake.post_batch, methods=["POST"]),
            Route("/openapi.json", intake.openapi, methods=["GET"]),
            Route("/health", intake.health, methods=["GET"]),
        ],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.intake = intake
    app.state.committer = committer
    return app
