"""Request bodies: the media type, reading at most a cap, parsing, and judging a batch order by order.

Each raises `answers.Refusal` with the answer when the request as a whole is refused (400, 413, 415).
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
from sonet_pipeline.intake.price_gate import BuyerPrices, judge_prices, price_error, price_notes
from sonet_pipeline.intake.rights_gate import RIGHTS_UNKNOWN, RightsRefusal, judge_rights
from sonet_pipeline.outbox.model import order_text
from sonet_pipeline.outbox.moves import PriceFlags
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


@dataclass
class JudgedBatch:
    """A batch judged order by order (`judge_batch`)."""

    orders: list[Any]
    #: Per order, its answer when refused here (None: to store, or NOT_ALLOWED, or PRICE_MISMATCH).
    answers: list[dict[str, Any] | None]
    #: By index, the NOT_ALLOWED orders (refused, or stored failed: the tenant's `order_rights.not_allowed`).
    refusals: dict[int, RightsRefusal] = field(default_factory=dict)
    #: By index, the 422 body of the orders the rights let in and their prices refuse (`order_prices: refuse`).
    price_refusals: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: By index, the flagged lines of the orders to store with them (`order_prices: flag`).
    price_flags: dict[int, PriceFlags] = field(default_factory=dict)


def judge_batch(body: bytes, tenant: Tenant, book: RightsBook | None, prices: BuyerPrices | None = None) -> JudgedBatch:
    """The parsed orders and each one's verdict (`JudgedBatch`). Runs in a thread for big bodies."""
    orders = parse(body)
    if not isinstance(orders, list):
        raise Refusal(error_response(400, "NOT_AN_ARRAY", "the batch body must be a JSON array of orders"))
    if len(orders) > MAX_BATCH_ORDERS:
        message = f"a batch holds at most {MAX_BATCH_ORDERS} orders, this one {len(orders)}"
        raise Refusal(error_response(413, "TOO_MANY_ORDERS", message))
    check_text = may_hold_surrogates(body)
    judged = JudgedBatch(orders, [])
    answers, refusals = judged.answers, judged.refusals
    for index, order in enumerate(orders):
        problems = judge_order(order, check_text=check_text)
        if problems:
            first = first_problem(problems)
            error = {"code": first.code, "message": first.message, "field": first.field}
            answers.append({"status": 422, "error": error})
        elif len(body) > MAX_ORDER_BYTES and len(order_text(order).encode()) > MAX_ORDER_BYTES:
            error = {"code": "TOO_LARGE", "message": f"the order is over {MAX_ORDER_BYTES} bytes", "field": None}
            answers.append({"status": 413, "error": error})
        elif (refusal := judge_rights(tenant, order, book)) is not None and refusal.code == RIGHTS_UNKNOWN:
            answers.append({"status": 503, "error": refusal.error()})
        else:
            answers.append(None)
            if refusal is not None:
                refusals[index] = refusal
            _judge_prices(judged, index, order, tenant, prices, refused=refusal is not None)
    return judged


def _judge_prices(
    judged: JudgedBatch, index: int, order: Any, tenant: Tenant, prices: BuyerPrices | None, *, refused: bool
) -> None:
    """The batch's price verdict on one order: refused (only one the rights let in) or flagged."""
    mismatches = judge_prices(order, prices)
    if not mismatches:
        return
    if not refused and tenant.order_prices.mismatch == "refuse":
        judged.price_refusals[index] = {"error": price_error(order, mismatches)}
    else:
        judged.price_flags[index] = price_notes(mismatches) or []
