"""Request bodies: the media type, reading at most a cap, parsing, and judging a batch order by order.

Each raises `answers.Refusal` with the answer when the request as a whole is refused (400, 413, 415).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import ClientDisconnect, Request

from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.intake.answers import Refusal, error_response, too_large
from sonet_pipeline.intake.payload import (
    MAX_BATCH_ORDERS,
    MAX_ORDER_BYTES,
    BadPayload,
    first_problem,
    judge_order,
    may_hold_surrogates,
    parse_json,
)
from sonet_pipeline.intake.rights_gate import RIGHTS_UNKNOWN, RightsRefusal, judge_rights
from sonet_pipeline.outbox.model import order_text
from sonet_pipeline.rights.book import RightsBook


def check_media_type(request: Request) -> None:
    """A 415 `Refusal` for a declared Content-Type that is not JSON (none at all is read as JSON)."""
    declared = request.headers.get("content-type", "")
    media_type = declared.split(";", 1)[0].strip().lower()
    if (
        media_type
        and media_type != "application/json"
        and not (media_type.startswith("application/") and media_type.endswith("+json"))
    ):
        message = f"the body must be JSON (Content-Type: application/json), not {declared[:60]!r}"
        raise Refusal(error_response(415, "UNSUPPORTED_MEDIA_TYPE", message))


async def read_capped(request: Request, cap: int) -> bytes:
    """The body, or a 413 `Refusal` as soon as it is known to pass `cap` (nothing more is read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise Refusal(too_large(cap))
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > cap:
                raise Refusal(too_large(cap))
            chunks.append(chunk)
    except ClientDisconnect:
        raise Refusal(error_response(400, "DISCONNECTED", "the body was cut off")) from None
    return b"".join(chunks)


def parse(body: bytes) -> Any:
    try:
        return parse_json(body)
    except BadPayload as exc:
        raise Refusal(error_response(400, "INVALID_JSON", str(exc))) from None


def judge_batch(
    body: bytes, tenant: Tenant, book: RightsBook | None
) -> tuple[list[Any], list[dict[str, Any] | None], dict[int, RightsRefusal]]:
    """The parsed orders; per order, its refusal entry (None: to store, or NOT_ALLOWED); and by index
    the NOT_ALLOWED orders (refused, or stored failed: the tenant's `order_rights.not_allowed`). Runs
    in a thread for big bodies."""
    orders = parse(body)
    if not isinstance(orders, list):
        raise Refusal(error_response(400, "NOT_AN_ARRAY", "the batch body must be a JSON array of orders"))
    if len(orders) > MAX_BATCH_ORDERS:
        message = f"a batch holds at most {MAX_BATCH_ORDERS} orders, this one {len(orders)}"
        raise Refusal(error_response(413, "TOO_MANY_ORDERS", message))
    check_text = may_hold_surrogates(body)
    answers: list[dict[str, Any] | None] = []
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
        else:
            refusals[index] = refusal
            answers.append(None)
    return orders, answers, refusals
