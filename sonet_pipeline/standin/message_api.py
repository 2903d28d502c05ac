"""The Message API: `POST /messages/sales-orders`, one SalesOrder XML message per request.

After the guard: size (413 TOO_LARGE, read with a cap), then `check_sales_order`, then idempotency by
MessageId under the company's order lock: a new message is accepted (201), the same canonical content
again is a DUPLICATE (200, the same SonetOrderNumber), other content a CONFLICT (409). Only acceptance
binds a MessageId. An accepted order becomes a `salesOrders` record (with the visibility lag) and is
journalled. With `lost_answer_share`, the order is processed and stored, then the connection breaks;
with `hostile_message`, it is processed and stored, then its answer is spoiled (`hostile.py`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from sonet_pipeline.standin.guard import XML_MEDIA_TYPE, error_response, guarded, read_body
from sonet_pipeline.standin.hostile import spoil_message_answer
from sonet_pipeline.standin.message_xml import error_xml, receipt_xml, sonet_order_number
from sonet_pipeline.standin.runtime import MESSAGE_API, AcceptedOrder, Company, Standin
from sonet_pipeline.standin.sales_order_check import (
    MAX_MESSAGE_BYTES,
    CheckedOrder,
    CustomerView,
    check_sales_order,
    decide_repeat,
    rejection_xml,
)


def messages_endpoint(standin: Standin) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await guarded(standin, request, MESSAGE_API, lambda company: _answer(standin, company, request))

    return endpoint


async def _answer(standin: Standin, company: Company, request: Request) -> Response:
    body = await read_body(request, MAX_MESSAGE_BYTES)
    if body is None:
        message = f"the message is over {MAX_MESSAGE_BYTES} bytes"
        return error_response(MESSAGE_API, 413, "TOO_LARGE", message)
    content_type = request.headers.get("content-type")
    status, answer = await run_in_threadpool(receive_message, standin, company, body, content_type)
    response = Response(answer, status_code=status, media_type=XML_MEDIA_TYPE)
    if standin.chance(standin.config.faults.lost_answer_share):
        company.counters.count_lost_answer()
        return LostAnswer(response)
    return spoil_message_answer(standin, company, request, response)


def receive_message(standin: Standin, company: Company, body: bytes, content_type: str | None) -> tuple[int, bytes]:
    """Judge and, when new, accept one message: the HTTP status and the XML answer."""
    state = company.state

    def item_status(code: str) -> str | None:
        item = state.latest("items", code)
        return None if item is None else item["status"]

    def customer(number: str) -> CustomerView | None:
        record = state.latest("customers", number)
        return None if record is None else CustomerView(record["status"], bool(record["orderBlocked"]))

    def accepted_content(message_id: str) -> bytes | None:
        order = company.orders.get(message_id)
        return None if order is None else order.canonical

    with company.orders_lock:
        checked = check_sales_order(
            body, content_type, item_status=item_status, customer=customer, accepted_content=accepted_content
        )
        message_id = checked.message_id
        if message_id is not None:
            company.counters.count_arrival(message_id)
        if not isinstance(checked, CheckedOrder):
            return checked.status, rejection_xml(checked)
        previous = company.orders.get(checked.message_id)
        verdict = decide_repeat(None if previous is None else previous.canonical, checked)
        if previous is not None and verdict == "duplicate":
            return 200, receipt_xml(checked.message_id, "DUPLICATE", previous.sonet_order_number, previous.received_at)
        if verdict == "conflict":
            return 409, error_xml("CONFLICT", "accepted before with other content", message_id=message_id)
        order = _accept(standin, company, checked)
    return 201, receipt_xml(checked.message_id, "ACCEPTED", order.sonet_order_number, order.received_at)


def _accept(standin: Standin, company: Company, checked: CheckedOrder) -> AcceptedOrder:
    """Store a new order (the caller holds `company.orders_lock`)."""
    order = AcceptedOrder(
        message_id=checked.message_id,
        canonical=checked.canonical,
        sonet_order_number=sonet_order_number(company.code, len(company.orders) + 1),
        received_at=standin.clock.now(),
        web_order_number=checked.web_order_number,
        customer_number=checked.customer_number,
    )
    record = {
        "messageId": order.message_id,
        "sonetOrderNumber": order.sonet_order_number,
        "webOrderNumber": order.web_order_number,
        "customerNumber": order.customer_number,
        "orderStatus": "RECEIVED",
    }
    standin.apply_change(company, "salesOrders", [record])
    if standin.change_log is not None:
        standin.change_log.append_order(company.code, order)  # durable: covers the change line too
    company.orders[order.message_id] = order
    return order


class LostAnswer(Response):
    """Starts the answer (status and Content-Length) and sends part of its body, then gives up.

    uvicorn closes a connection whose application returns before completing the response, so the
    client sees a broken connection mid-body: not an answer. `server.py` mutes uvicorn's log line.
    """

    def __init__(self, answer: Response) -> None:
        super().__init__(answer.body, status_code=answer.status_code, media_type=XML_MEDIA_TYPE)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body[: len(self.body) // 2], "more_body": True})
