"""The intake's OpenAPI 3.1 description, served at `/openapi.json`; it passes `openapi-spec-validator`.

The request schema is the packaged `commerce-order.schema.json` (OpenAPI 3.1 schemas are JSON Schema
2020-12), made self-contained for the document: its `$defs` become components of their own
(`CommerceOrderAddress`) and its `#/$defs/...` references point at them, so every reference resolves
inside the document and tools (generated clients, schemathesis) see the whole body. Its `$id` and
`$schema` are dropped: under an `$id` the references would resolve against the contract's URN.

Every status the intake answers is declared, with its body. The batch route's request items are any
JSON value: each is judged alone against `CommerceOrder` and answered in its own entry of the 200,
so the array itself is the only thing the request as a whole is refused for.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from sonet_pipeline.contract import commerce_order_schema
from sonet_pipeline.intake.openapi_lookup import lookup_path, lookup_schemas, price_schemas
from sonet_pipeline.intake.payload import MAX_BATCH_BYTES, MAX_BATCH_ORDERS, MAX_ORDER_BYTES

_REF = "#/components/schemas/"
_ORDER = "CommerceOrder"
_ERROR_BODY = {"application/json": {"schema": {"$ref": _REF + "ErrorBody"}}}
_STATES = ["pending", "sending", "sent", "failed"]
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer"}}}


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
    "400": _error("Not JSON (or not UTF-8 text, NaN, nesting too deep), or the body was cut off."),
    "401": {
        "description": "Missing or wrong bearer token, or no token configured for the tenant.",
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
        "content": _ERROR_BODY,
    },
    "404": _error("Unknown tenant."),
    "415": _error("A Content-Type other than application/json (or a `+json` type); none at all is read as JSON."),
    "503": {
        "description": "Retry after `Retry-After` seconds: the outbox cannot store orders (OUTBOX_UNAVAILABLE), the"
        " tenant's token cannot be read from AWS Secrets Manager (TOKEN_UNAVAILABLE), or, for an account"
        " order, the tenant's rights are not known before its first sync (RIGHTS_UNKNOWN). Nothing is stored.",
        "headers": _RETRY_AFTER,
        "content": _ERROR_BODY,
    },
}


def order_components() -> dict[str, Any]:
    """`CommerceOrder` and one component per `$defs` entry of the contract's schema, references rewritten."""
    schema = copy.deepcopy(commerce_order_schema())
    definitions = schema.pop("$defs", {})
    schema.pop("$id", None)
    schema.pop("$schema", None)
    names = {name: _ORDER + name[:1].upper() + name[1:] for name in definitions}
    targets = {f"#/$defs/{name}": _REF + component for name, component in names.items()}
    components = {_ORDER: schema, **{names[name]: value for name, value in definitions.items()}}
    return {name: _rewrite_refs(value, targets) for name, value in components.items()}


def _rewrite_refs(value: Any, targets: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {
            key: (
                targets[item]
                if key == "$ref" and isinstance(item, str) and item in targets
                else _rewrite_refs(item, targets)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_rewrite_refs(item, targets) for item in value]
    return value


def _schemas() -> dict[str, Any]:
    error = {
        "type": "object",
        "required": ["code", "message", "field"],
        "properties": {
            "code": {
                "type": "string",
                "examples": [
                    "SCHEMA",
                    "INVALID",
                    "INVALID_JSON",
                    "ORDER_CONFLICT",
                    "TOO_LARGE",
                    "NOT_ALLOWED",
                    "PRICE_MISMATCH",
                ],
            },
            "message": {"type": "string"},
            "field": {
                "type": ["string", "null"],
                "description": "A JSON path into the order (`lines[2].quantity`) where there is one.",
            },
            "rule": {
                "type": ["string", "null"],
                "description": "NOT_ALLOWED, RIGHTS_UNKNOWN: the rights rule that decided (the tenant's rule name, or"
                " no_account, no_login, guest_orders, no_snapshot).",
            },
            "limit": {
                "type": ["string", "null"],
                "description": "NOT_ALLOWED: the login's order limit (net, VAT excluded) when the limit decided.",
            },
            "lines": {
                "$ref": _REF + "PriceMismatches",
                "description": "PRICE_MISMATCH: every line not at the buyer's price, its expected and given price.",
            },
        },
    }
    stored = {
        "type": "object",
        "required": ["message_id", "state"],
        "properties": {
            "message_id": {"type": "string", "description": "The outbox MessageId (UUID), stable for this order."},
            "state": {"enum": _STATES},
            "price_mismatches": {"$ref": _REF + "PriceMismatches"},
        },
    }
    batch_entry = {
        "type": "object",
        "required": ["status"],
        "description": "One order's outcome: `status` is what the single-order route would have answered for it."
        " 200, 202: stored (`message_id`, `state`); 409: `message_id` names the stored order and `error` says why;"
        " 413, 422: `error` (on a NOT_ALLOWED 422 kept failed for an operator, also `message_id` and `state`);"
        " 503: RIGHTS_UNKNOWN, retry that order later.",
        "properties": {
            "status": {"enum": [200, 202, 409, 413, 422, 503]},
            "message_id": {"type": "string"},
            "state": {"enum": _STATES},
            "error": {"$ref": _REF + "Error"},
            "price_mismatches": {"$ref": _REF + "PriceMismatches"},
        },
    }
    return {
        **order_components(),
        **price_schemas(),
        **lookup_schemas(),
        "Error": error,
        "ErrorBody": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {"$ref": _REF + "Error"},
                "message_id": {
                    "type": "string",
                    "description": "On 409: the message that holds the order number. On a NOT_ALLOWED 422 with the"
                    " tenant's `order_rights.not_allowed: store_failed`: the failed message that keeps the order.",
                },
                "state": {"enum": _STATES, "description": "With `message_id` on a kept NOT_ALLOWED order: failed."},
                "price_mismatches": {"$ref": _REF + "PriceMismatches"},
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
            "The order is validated (schema and semantic rules), checked against the tenant's published rights"
            " (the login's may-order, its order limit, a blocked customer, guest orders), and stored durably in the"
            " outbox before the answer; it is sent to Sonet later. Sending the same order again is safe."
        ),
        "operationId": "enqueueOrder",
        "parameters": [_tenant_parameter()],
        "requestBody": {
            "required": True,
            "description": f"One order, at most {MAX_ORDER_BYTES} bytes.",
            "content": {"application/json": {"schema": {"$ref": _REF + _ORDER}}},
        },
        "responses": {
            "202": {"description": "A new order, stored.", "content": stored},
            "200": {"description": "The same order again: nothing changed.", "content": stored},
            "409": _error("The same orderNumber with other content; `message_id` names the stored one."),
            "413": _error(f"The body is over {MAX_ORDER_BYTES} bytes."),
            "422": _error(
                "Invalid per the schema or the semantic rules (`field` says where), or NOT_ALLOWED by the tenant's"
                " published rights (`rule` names the rule that decided, `limit` the order limit when it decided),"
                " or PRICE_MISMATCH with the tenant's `order_prices.mismatch: refuse` (`lines` names each line,"
                " its expected and given price)."
            ),
            **_COMMON_ERRORS,
        },
    }
    batch = {
        "summary": "Hand many orders at once; each is judged alone",
        "description": (
            "A JSON array of orders. The answer is HTTP 200 with one entry per order, in order, whatever "
            "each outcome; the orders that pass are stored with one commit before the answer."
        ),
        "operationId": "enqueueOrders",
        "parameters": [_tenant_parameter()],
        "requestBody": {
            "required": True,
            "description": f"At most {MAX_BATCH_ORDERS} orders and {MAX_BATCH_BYTES} bytes. Each item should be a"
            f" `{_ORDER}`; one that is not is answered in its own entry (422), not by refusing the batch.",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "maxItems": MAX_BATCH_ORDERS,
                        # Any value is taken (an item that is no order gets its own 422 entry); listing
                        # the order first tells clients and generators what an item should be.
                        "items": {
                            "description": f"An order ({_ORDER}), judged alone.",
                            "anyOf": [{"$ref": _REF + _ORDER}, {"description": "Any other value: its entry is 422."}],
                        },
                    }
                }
            },
        },
        "responses": {
            "200": {
                "description": "One entry per order, in the order sent.",
                "content": {"application/json": {"schema": {"$ref": _REF + "BatchAnswer"}}},
            },
            "400": _error("Not JSON, or not a JSON array (NOT_AN_ARRAY), or the body was cut off."),
            "413": _error(f"Over {MAX_BATCH_BYTES} bytes or over {MAX_BATCH_ORDERS} orders."),
            **{status: answer for status, answer in _COMMON_ERRORS.items() if status != "400"},
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
            "/tenants/{tenant}/customers/lookup": lookup_path(_tenant_parameter(), _COMMON_ERRORS),
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "operationId": "openapi",
                    "security": [],
                    "responses": {"200": {"description": "The OpenAPI document.", "content": {"application/json": {}}}},
                }
            },
            "/health": {
                "get": {
                    "summary": "Liveness",
                    "operationId": "health",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "The intake is up.",
                            "content": {
                                "application/json": {
                                    "schema": {"type": "object", "properties": {"status": {"const": "ok"}}}
                                }
                            },
                        },
                        "503": _error("The outbox writer is not running (starting or stopping)."),
                    },
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
