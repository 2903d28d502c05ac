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
import json
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
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
from sonet_pipeline.intake.committer import GroupCommitter
from sonet_pipeline.intake.openapi import openapi_document
from sonet_pipeline.intake.payload import (
    MAX_BATCH_BYTES,
    MAX_BATCH_ORDERS,
    MAX_ORDER_BYTES,
    BadPayload,
    first_problem,
    judge_order,
    may_hold_surrogates,
    parse_json,
)
from sonet_pipeline.intake.rights_gate import (
    RIGHTS_UNKNOWN,
    PublishedRights,
    RightsRefusal,
    is_account_order,
    judge_rights,
)
from sonet_pipeline.outbox import Enqueued, Outbox
from sonet_pipeline.outbox.model import FAILED, order_text
from sonet_pipeline.outbox.moves import OrderError
from sonet_pipeline.rights.book import RightsBook

log = logging.getLogger(__name__)

ACTOR = "intake"
RETRY_AFTER_SECONDS = 5
#: Retry-After of RIGHTS_UNKNOWN: rights are known after the tenant's first sync (every minute).
RIGHTS_RETRY_AFTER_SECONDS = 60
#: Batches above this many bytes are parsed and judged in a worker thread.
_INLINE_BATCH_BYTES = 64 * 1024


class _Json(JSONResponse):
    """ASCII-escaped JSON: echoed strings (order numbers, paths) can never break the encoding."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, separators=(",", ":")).encode("ascii")


def error_response(status: int, code: str, message: str, field: str | None = None, **extra: Any) -> Response:
    headers = extra.pop("headers", None)
    return _Json({"error": {"code": code, "message": message, "field": field}, **extra}, status, headers=headers)


def _stored(outcome: Enqueued) -> dict[str, Any]:
    return {"message_id": outcome.message_id, "state": str(outcome.state)}


def _number(order: Any) -> str:
    """The order number for a log line, quoted and ASCII-escaped (a refused order's may be anything)."""
    number = order.get("orderNumber") if isinstance(order, dict) else None
    return ascii(number[:40]) if isinstance(number, str) else "(none)"


class _Refusal(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


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
            _check_media_type(request)
            body = await _read_capped(request, MAX_ORDER_BYTES)
            order = _parse(body)
        except _Refusal as refusal:
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
                return _rights_unknown(denied)
            if tenant.order_rights.not_allowed == "refuse":
                return _Json({"error": denied.error()}, 422)
            failures = [_stored_error(denied)]
        try:
            [outcome] = await self.committer.submit(tenant.name, [order], failures)
        except Exception as exc:
            return _unavailable(tenant.name, exc)
        if denied is not None and isinstance(outcome, Enqueued) and outcome.state == FAILED:
            log.info("tenant %s: order %s kept as failed %s", tenant.name, _number(order), outcome.message_id)
            return _Json({"error": denied.error(), **_stored(outcome)}, 422)
        if isinstance(outcome, Enqueued):
            log.info("tenant %s: order %s %s as %s", tenant.name, _number(order), _verb(outcome), outcome.message_id)
            return _Json(_stored(outcome), 202 if outcome.created else 200)
        log.info("tenant %s: order %s conflicts with %s", tenant.name, _number(order), outcome.message_id)
        return error_response(409, "ORDER_CONFLICT", str(outcome), "orderNumber", message_id=outcome.message_id)

    async def post_batch(self, request: Request) -> Response:
        try:
            tenant = await self._admit(request)
            _check_media_type(request)
            body = await _read_capped(request, MAX_BATCH_BYTES)
            book = await self._book(tenant)
            if len(body) > _INLINE_BATCH_BYTES:
                orders, answers, refusals = await asyncio.to_thread(_judge_batch, body, tenant, book)
            else:
                orders, answers, refusals = _judge_batch(body, tenant, book)
        except _Refusal as refusal:
            return refusal.response
        valid = [index for index, answer in enumerate(answers) if answer is None]
        failures: list[OrderError | None] = [
            _stored_error(refusals[index]) if index in refusals else None for index in valid
        ]
        try:
            outcomes = await self.committer.submit(
                tenant.name, [orders[index] for index in valid], failures if refusals else None
            )
        except Exception as exc:
            return _unavailable(tenant.name, exc)
        for index, outcome in zip(valid, outcomes, strict=True):
            if index in refusals and isinstance(outcome, Enqueued) and outcome.state == FAILED:
                answers[index] = {"status": 422, **_stored(outcome), "error": refusals[index].error()}
            elif isinstance(outcome, Enqueued):
                answers[index] = {"status": 202 if outcome.created else 200, **_stored(outcome)}
            else:
                error = {"code": "ORDER_CONFLICT", "message": str(outcome), "field": "orderNumber"}
                answers[index] = {"status": 409, "message_id": outcome.message_id, "error": error}
        counts: dict[int, int] = {}
        for answer in answers:
            assert answer is not None
            counts[answer["status"]] = counts.get(answer["status"], 0) + 1
        log.info("tenant %s: batch of %d orders, by status %s", tenant.name, len(answers), counts)
        return _Json(answers, 200)

    async def health(self, request: Request) -> Response:
        if not self.committer.running:
            return error_response(503, "STOPPED", "the outbox writer is not running")
        return _Json({"status": "ok"}, 200)

    async def openapi(self, request: Request) -> Response:
        return _Json(openapi_document(), 200)

    async def _admit(self, request: Request) -> Tenant:
        """The tenant named in the path, if the request carries its token; else a `_Refusal` (404/401/503)."""
        name = request.path_params["tenant"]
        tenant = self.tenants.get(name)
        if tenant is None:
            raise _Refusal(error_response(404, "UNKNOWN_TENANT", f"no tenant named {name[:40]!r}"))
        source = tenant.intake_token_source()
        if source is None:
            why = "it has no intake_token_env or intake_token_secret"
            log.warning("tenant %s: intake refused a request: %s", name, why)
            raise _Refusal(_unauthorized(f"the intake takes no orders for tenant {name!r}: {why}"))
        expected = await self._expected_token(name, source)
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise _Refusal(_unauthorized("an Authorization: Bearer <token> header is required"))
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
            raise _Refusal(_unauthorized("the bearer token is not this tenant's intake token"))
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
                raise _Refusal(error_response(503, "TOKEN_UNAVAILABLE", message, headers=headers)) from None
            if source.secret is None:
                why = f"environment variable {source.env} is not set"
            else:  # the answer does not name the secret (its ARN names the account); the log does
                why = "its intake token cannot be read from AWS Secrets Manager (the intake's log says why)"
            raise _Refusal(_unauthorized(f"the intake takes no orders for tenant {name!r}: {why}")) from None

    def _resolve(self, source: TokenSource, max_age: float | None) -> str:
        token = resolve_token(
            source, env=self.token_lookup, secrets=self.secrets, cache=self.secret_cache, max_age=max_age
        )
        return token.get_secret_value()


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _unauthorized(message: str) -> Response:
    return error_response(401, "UNAUTHORIZED", message, headers={"WWW-Authenticate": 'Bearer realm="intake"'})


def _unavailable(tenant: str, exc: Exception) -> Response:
    log.error("tenant %s: the outbox could not store orders: %s: %s", tenant, type(exc).__name__, exc)
    message = "the outbox cannot store orders right now; retry later"
    return error_response(503, "OUTBOX_UNAVAILABLE", message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def _rights_unknown(refusal: RightsRefusal) -> Response:
    headers = {"Retry-After": str(RIGHTS_RETRY_AFTER_SECONDS)}
    return _Json({"error": refusal.error()}, 503, headers=headers)


def _stored_error(refusal: RightsRefusal) -> OrderError:
    """The error a NOT_ALLOWED order is kept with (`order_rights.not_allowed: store_failed`)."""
    limit = f" (limit {refusal.limit})" if refusal.limit else ""
    return {"code": refusal.code, "message": f"{refusal.message}{limit}", "field": refusal.field}


def _verb(outcome: Enqueued) -> str:
    return "stored" if outcome.created else "already stored"


def _check_media_type(request: Request) -> None:
    """A 415 `_Refusal` for a declared Content-Type that is not JSON (none at all is read as JSON)."""
    declared = request.headers.get("content-type", "")
    media_type = declared.split(";", 1)[0].strip().lower()
    if (
        media_type
        and media_type != "application/json"
        and not (media_type.startswith("application/") and media_type.endswith("+json"))
    ):
        message = f"the body must be JSON (Content-Type: application/json), not {declared[:60]!r}"
        raise _Refusal(error_response(415, "UNSUPPORTED_MEDIA_TYPE", message))


async def _read_capped(request: Request, cap: int) -> bytes:
    """The body, or a 413 `_Refusal` as soon as it is known to pass `cap` (nothing more is read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _Refusal(_too_large(cap))
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > cap:
                raise _Refusal(_too_large(cap))
            chunks.append(chunk)
    except ClientDisconnect:
        raise _Refusal(error_response(400, "DISCONNECTED", "the body was cut off")) from None
    return b"".join(chunks)


def _too_large(cap: int) -> Response:
    message = f"the body is over {cap} bytes"
    return error_response(413, "TOO_LARGE", message, headers={"Connection": "close"})


def _parse(body: bytes) -> Any:
    try:
        return parse_json(body)
    except BadPayload as exc:
        raise _Refusal(error_response(400, "INVALID_JSON", str(exc))) from None


def _judge_batch(
    body: bytes, tenant: Tenant, book: RightsBook | None
) -> tuple[list[Any], list[dict[str, Any] | None], dict[int, RightsRefusal]]:
    """The parsed orders; per order, its refusal entry (None: to store); and by index the NOT_ALLOWED
    orders to store as failed (the tenant's `order_rights.not_allowed: store_failed`). Runs in a
    thread for big bodies."""
    orders = _parse(body)
    if not isinstance(orders, list):
        raise _Refusal(error_response(400, "NOT_AN_ARRAY", "the batch body must be a JSON array of orders"))
    if len(orders) > MAX_BATCH_ORDERS:
        message = f"a batch holds at most {MAX_BATCH_ORDERS} orders, this one {len(orders)}"
        raise _Refusal(error_response(413, "TOO_MANY_ORDERS", message))
    check_text = may_hold_surrogates(body)
    answers: list[dict[str, Any] | None] = []
    keep = tenant.order_rights.not_allowed == "store_failed"
    refusals: dict[int, RightsRefusal] = {}
    for index, order in enumerate(orders):
        problems = judge_order(order, check_text=check_text)
        if problems:
            first = first_problem(problems)
            error = {"code": first.code, "message": first.message, "field": first.field}
            answers.append({"status": 422, "error": error})
        elif len(body) > MAX_ORDER_BYTES and len(order_text(order).encode()) > MAX_ORDER_BYTES:
            error = {"code": "TOO_LARGE", "message": f"the order is over {MAX_ORDER_BYTES} bytes", "field": None}
            answers.append({"status": 413, "error": error})
        elif (refusal := judge_rights(tenant, order, book)) is None:
            answers.append(None)
        elif refusal.code == RIGHTS_UNKNOWN:
            answers.append({"status": 503, "error": refusal.error()})
        elif keep:
            refusals[index] = refusal
            answers.append(None)
        else:
            answers.append({"status": 422, "error": refusal.error()})
    return orders, answers, refusals


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
