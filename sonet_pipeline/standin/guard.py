"""What every API request passes before its handler, in the contract's order.

Authentication (401, 403), maintenance (503), throttling (429: the company's in-flight cap, then its
token bucket), then the deliberate faults: random 503s and slow answers. Size and content are the
handler's. Refusals with 401, 403 or 429 use up no token. Every answer is counted in the company's
counters (when the request names a known company). A token is never logged or echoed.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sonet_pipeline.standin.message_xml import error_xml
from sonet_pipeline.standin.runtime import MESSAGE_API, QUERY_API, Company, Standin

log = logging.getLogger(__name__)

Handler = Callable[[Company], Awaitable[Response]]
XML_MEDIA_TYPE = "application/xml; charset=utf-8"
_API_NAMES = {QUERY_API: "Query API", MESSAGE_API: "Message API"}


def error_response(api: str, status: int, code: str, message: str, *, retry_after: int | None = None) -> Response:
    """An error in the API's own form: a GraphQL error body (Query API) or a MessageError (Message API)."""
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if api == QUERY_API:
        body = {"errors": [{"message": message, "extensions": {"code": code}}]}
        return JSONResponse(body, status_code=status, headers=headers)
    return Response(error_xml(code, message), status_code=status, headers=headers, media_type=XML_MEDIA_TYPE)


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def guarded(standin: Standin, request: Request, api: str, handler: Handler) -> Response:
    """Run `handler(company)` if the request passes every gate; count the answer either way."""
    named = standin.companies.get(request.headers.get("x-sonet-company") or "")
    response = await _admit(standin, request, api, handler)
    if named is not None:
        named.counters.count_response(api, response.status_code)
    return response


async def _admit(standin: Standin, request: Request, api: str, handler: Handler) -> Response:
    company_code = request.headers.get("x-sonet-company")
    company = standin.authenticate(bearer_token(request.headers.get("authorization")), company_code)
    if company == 401:
        return error_response(api, 401, "UNAUTHENTICATED", "a valid Authorization: Bearer <token> is required")
    if not isinstance(company, Company):
        why = "is missing" if not company_code else f"{company_code[:40]!r} is unknown or not allowed for this token"
        return error_response(api, 403, "FORBIDDEN", f"the company (X-Sonet-Company) {why}")

    faults = standin.config.faults
    left = faults.maintenance_left(standin.clock.now())
    if left is not None:
        seconds = max(1, math.ceil(left))
        return error_response(api, 503, "UNAVAILABLE", f"Sonet is in maintenance for {seconds} s", retry_after=seconds)

    in_flight = company.in_flight[api]
    if in_flight is not None and not in_flight.try_enter():
        limit = in_flight.limit
        return _throttled(api, company, f"at most {limit} requests in flight", 1)
    try:
        bucket = company.buckets[api]
        wait = 0.0 if bucket is None else bucket.try_take()
        if bucket is not None and wait > 0:
            rate = f"{bucket.rate:g} requests per second (burst {bucket.burst})"
            return _throttled(api, company, rate, bucket.retry_after_seconds(wait))
        if standin.chance(faults.unavailable_share):
            retry = max(1, faults.unavailable_retry_after)
            return error_response(api, 503, "UNAVAILABLE", "Sonet is temporarily unavailable", retry_after=retry)
        if faults.slow_seconds > 0 and standin.chance(faults.slow_share):
            await asyncio.sleep(faults.slow_seconds)
        try:
            return await handler(company)
        except Exception:  # a bug or a full disk: a transient 500 in the API's own form, never a bare page
            log.exception("the %s failed for company %s", _API_NAMES[api], company.code)
            code = "INTERNAL" if api == QUERY_API else "UNAVAILABLE"
            return error_response(api, 500, code, "internal error; try again later")
    finally:
        if in_flight is not None:
            in_flight.leave()


def _throttled(api: str, company: Company, limit: str, retry_after: int) -> Response:
    name = _API_NAMES[api]
    message = f"company {company.code} is limited to {limit} on the {name}; retry after {retry_after} s"
    return error_response(api, 429, "THROTTLED", message, retry_after=retry_after)


async def read_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None when it is over `limit` bytes (never buffering more than that)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)
