"""The intake's answers: JSON bodies (ASCII-escaped), the error body `{"error": {...}}` and the refusals
that end a request early (401, 413, 503 with Retry-After)."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.responses import JSONResponse, Response

from sonet_pipeline.intake.rights_gate import RightsRefusal
from sonet_pipeline.outbox import Enqueued
from sonet_pipeline.outbox.moves import OrderError

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
#: Retry-After of RIGHTS_UNKNOWN: rights are known after the tenant's first sync (every minute).
RIGHTS_RETRY_AFTER_SECONDS = 60


class Json(JSONResponse):
    """ASCII-escaped JSON: echoed strings (order numbers, paths) can never break the encoding."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, separators=(",", ":")).encode("ascii")


class Refusal(Exception):
    """Ends a request early with `response`."""

    def __init__(self, response: Response) -> None:
        self.response = response


def error_response(status: int, code: str, message: str, field: str | None = None, **extra: Any) -> Response:
    headers = extra.pop("headers", None)
    return Json({"error": {"code": code, "message": message, "field": field}, **extra}, status, headers=headers)


def stored_body(outcome: Enqueued) -> dict[str, Any]:
    return {"message_id": outcome.message_id, "state": str(outcome.state)}


def unauthorized(message: str) -> Response:
    return error_response(401, "UNAUTHORIZED", message, headers={"WWW-Authenticate": 'Bearer realm="intake"'})


def unavailable(tenant: str, exc: Exception) -> Response:
    log.error("tenant %s: the outbox could not store orders: %s: %s", tenant, type(exc).__name__, exc)
    message = "the outbox cannot store orders right now; retry later"
    return error_response(503, "OUTBOX_UNAVAILABLE", message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def too_large(cap: int) -> Response:
    message = f"the body is over {cap} bytes"
    return error_response(413, "TOO_LARGE", message, headers={"Connection": "close"})


def rights_unknown(refusal: RightsRefusal) -> Response:
    headers = {"Retry-After": str(RIGHTS_RETRY_AFTER_SECONDS)}
    return Json({"error": refusal.error()}, 503, headers=headers)


def kept_error(refusal: RightsRefusal) -> OrderError:
    """The error a NOT_ALLOWED order is kept with (`order_rights.not_allowed: store_failed`)."""
    limit = f" (limit {refusal.limit})" if refusal.limit else ""
    return {"code": refusal.code, "message": f"{refusal.message}{limit}", "field": refusal.field}
