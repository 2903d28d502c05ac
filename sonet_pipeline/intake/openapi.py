"""The intake's OpenAPI 3.1 description, served at `/openapi.json`.

The request schema is the packaged `commerce-order.schema.json` itself (OpenAPI 3.1 schemas are JSON
Schema 2020-12; its `$id` keeps its internal `#/$defs/...` references resolving inside it).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sonet_pipeline.contract import commerce_order_schema
from sonet_pipeline.intake.payload import MAX_BATCH_BYTES, MAX_BATCH_ORDERS, MAX_ORDER_BYTES

_REF = "#/components/schemas/"
_ERROR_BODY = {"application/json": {"schema": {"$ref": _REF + "ErrorBody"}}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": _ERROR_BODY}


def _tenant_parameter() -> dict[str, Any]:
    return {
        "name": "tenant",
        "in": "path",
        "required": True,
        "description": "The tenant (merchant) name, as configured.",
        "schema": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$"},
    }


_COMMON_ERRORS = {
    "400": _error("Not JSON (or not UTF-8 text, NaN, nesting too deep)."),
    "401": _error("Missing or wrong bearer token, or no token configured for the tenant."),
    "404": _error("Unknown tenant."),
    "503": {
        "description": "The outbox cannot store orders, or the tenant's token cannot be read from AWS Secrets"
        " Manager, right now; retry after `Retry-After` seconds.",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        "content": _ERROR_BODY,
    },
}


def _schemas() -> dict[str, Any]:
    error = {
        "type": "object",
        "required": ["code", "message", "field"],
        "properties": {
            "code": {"type": "string", "examples": ["SCHEMA", "INVALID_JSON", "ORDER_CONFLICT", "TOO_LARGE"]},
            "message": {"type": "string"},
            "field": {
                "type": ["string", "null"],
                "description": "A JSON path into the order (`lines[2].quantity`) where there is one.",
            },
        },
    }
    stored = {
        "type": "object",
        "required": ["message_id", "state"],
        "properties": {
            "message_id": {"type": "string", "description": "The outbox MessageId (UUID), stable for this order."},
            "state": {"enum": ["pending", "sending", "sent", "failed"]},
        },
    }
    batch_entry = {
        "type": "object",
        "required": ["status"],
        "description": "One order's outcome: `status` is what the single-order route would have answered.",
        "properties": {
            "status": {"enum": [200, 202, 409, 413, 422]},
            "message_id": {"type": "string", "description": "Stored (200, 202) or conflicting (409) message."},
            "state": {"enum": ["pending", "sending", "sent", "failed"]},
            "error": {"$ref": _REF + "Error"},
        },
    }
    return {
        "CommerceOrder": commerce_order_schema(),
        "Error": error,
        "ErrorBody": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {"$ref": _REF + "Error"},
                "message_id": {"type": "string", "description": "On 409: the message that holds the order number."},
            },
        },
        "Stored": stored,
        "BatchEntry": batch_entry,
        "BatchAnswer": {"type": "array", "items": {"$ref": _REF + "BatchEntry"}},
    }


@cache
def openapi_document() -> dict[str, Any]:
    stored = {"application/json": {"schema": {"$ref": _REF + "Stored"}}}
    single = {
        "summary": "Hand one web-shop order to the integration",
        "description": (
            "The order is validated (schema and semantic rules) and stored durably in the outbox before "
            "the answer; it is sent to Sonet later. Sending the same order again is safe."
        ),
        "operationId": "enqueueOrder",
        "parameters": [_tenant_parameter()],
        "requestBody": {
            "required": True,
            "description": f"One order, at most {MAX_ORDER_BYTES} bytes.",
            "content": {"application/json": {"schema": {"$ref": _REF + "CommerceOrder"}}},
        },
        "responses": {
            "202": {"description": "A new order, stored.", "content": stored},
            "200": {"description": "The same order again: nothing changed.", "content": stored},
            "409": _error("The same orderNumber with other content; `message_id` names the stored one."),
            "413": _error(f"The body is over {MAX_ORDER_BYTES} bytes."),
            "422": _error("Invalid per the schema or the semantic rules; `field` says where."),
            **_COMMON_ERRORS,
        },
    }
    batch = {
        "summary": "Hand many orders at once; each is judged alone",
        "description": (
            "A JSON array of orders. The answer is HTTP 200 with one entry per order, in order, whatever "
            "each outcome; the valid orders are stored with one commit before the answer."
        ),
        "operationId": "enqueueOrders",
        "parameters": [_tenant_parameter()],
        "requestBody": {
            "required": True,
            "description": f"At most {MAX_BATCH_ORDERS} orders and {MAX_BATCH_BYTES} bytes.",
            "content": {
                "application/json": {
                    "schema": {"type": "array", "maxItems": MAX_BATCH_ORDERS, "items": {"$ref": _REF + "CommerceOrder"}}
                }
            },
        },
        "responses": {
            "200": {
                "description": "One entry per order, in the order sent.",
                "content": {"application/json": {"schema": {"$ref": _REF + "BatchAnswer"}}},
            },
            "413": _error(f"Over {MAX_BATCH_BYTES} bytes or over {MAX_BATCH_ORDERS} orders."),
            **_COMMON_ERRORS,
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "sonet-pipeline order intake",
            "version": "1",
            "description": "The web shop hands orders to the Sonet integration here. Every error body is `ErrorBody`.",
        },
        "security": [{"bearer": []}],
        "paths": {
            "/tenants/{tenant}/orders": {"post": single},
            "/tenants/{tenant}/orders/batch": {"post": batch},
            "/health": {
                "get": {
                    "summary": "Liveness",
                    "security": [],
                    "responses": {"200": {"description": "The intake is up."}},
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The tenant's token: from the env var its `intake_token_env` names, or the AWS"
                    " Secrets Manager secret its `intake_token_secret` names.",
                }
            },
            "schemas": _schemas(),
        },
    }
