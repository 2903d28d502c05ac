"""The OpenAPI description of the customer lookup (`customer_lookup.py`) and of the price flags
(`price_gate.py`): their path and components, merged into the document by `openapi.py`."""

from __future__ import annotations

from typing import Any

from sonet_pipeline.intake.customer_lookup import MAX_LOOKUP_BYTES, MAX_VALUE_LENGTH, NOT_BLANK
from sonet_pipeline.rights.customer_lookup import LOOKUP_KEYS

_REF = "#/components/schemas/"
_ERROR_BODY = {"application/json": {"schema": {"$ref": _REF + "ErrorBody"}}}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer"}}}


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description, "content": _ERROR_BODY}
    if headers:
        answer["headers"] = headers
    return answer


def price_schemas() -> dict[str, Any]:
    """`PriceMismatch` (one flagged line) and `PriceMismatches` (a flagged order's lines)."""
    text = {"type": "string"}
    mismatch = {
        "type": "object",
        "description": "An order line not at its buyer's price at the order's createdAt.",
        "required": ["line", "field", "sku", "given", "givenCurrency", "expected", "expectedCurrency", "setBy"],
        "properties": {
            "line": {"type": "integer", "description": "The line's index in `lines`."},
            "field": {"type": "string", "examples": ["lines[1].unitPrice"]},
            "sku": text,
            "given": {"type": "string", "description": "The line's unitPrice."},
            "givenCurrency": {"type": "string", "description": "The order's currency."},
            "expected": {"type": "string", "description": "The buyer's price."},
            "expectedCurrency": {"type": "string", "description": "The currency of the buyer's price."},
            "currencyDiffers": {"type": "boolean", "description": "The buyer's price is in another currency."},
            "setBy": {"type": "string", "examples": ["price list PL-1 line L-7", "list price"]},
            "priceListLine": {
                "type": ["object", "null"],
                "description": "The price list line that set the price (the contract's fields); null: the list price.",
            },
        },
    }
    return {
        "PriceMismatch": mismatch,
        "PriceMismatches": {
            "type": "array",
            "items": {"$ref": _REF + "PriceMismatch"},
            "description": "Present when the tenant flags price mismatches (`order_prices.mismatch: flag`) and"
            " some line is not at the buyer's price; the order is stored and sent all the same.",
        },
    }


def lookup_schemas() -> dict[str, Any]:
    value = {"type": "string", "minLength": 1, "maxLength": MAX_VALUE_LENGTH, "pattern": NOT_BLANK}
    return {
        "CustomerLookup": {
            "type": "object",
            "description": "Exactly one of the keys. Compared trimmed and case-insensitive (business ids and VAT"
            " numbers without inner spaces); an e-mail matches the customer's own or any of its contacts'.",
            "additionalProperties": False,
            "minProperties": 1,
            "maxProperties": 1,
            "properties": {key: value for key in LOOKUP_KEYS},
        },
        "CustomerFound": {
            "type": "object",
            "required": ["accountId", "name"],
            "additionalProperties": False,
            "properties": {
                "accountId": {"type": "string", "description": "The customer's account (its customerNumber)."},
                "name": {"type": ["string", "null"]},
            },
        },
    }


def lookup_path(tenant_parameter: dict[str, Any], common_errors: dict[str, Any]) -> dict[str, Any]:
    """`POST /tenants/{tenant}/customers/lookup`."""
    found = {"application/json": {"schema": {"$ref": _REF + "CustomerFound"}}}
    return {
        "post": {
            "summary": "Which ACTIVE customer is a registering buyer?",
            "description": (
                "Answers the one ACTIVE customer whose business id, VAT number or e-mail (its own or a contact's)"
                " matches, from the tenant's published snapshot (never by calling Sonet): its account id and name,"
                " nothing else. Rate-limited per intake token (the tenant's `customer_lookup`)."
            ),
            "operationId": "lookupCustomer",
            "parameters": [tenant_parameter],
            "requestBody": {
                "required": True,
                "description": f"At most {MAX_LOOKUP_BYTES} bytes.",
                "content": {"application/json": {"schema": {"$ref": _REF + "CustomerLookup"}}},
            },
            "responses": {
                "200": {"description": "One customer matches.", "content": found},
                "400": _error(
                    "Not JSON (INVALID_JSON), or not exactly one of the keys as a non-empty string (INVALID_LOOKUP)."
                ),
                "401": common_errors["401"],
                "404": _error("Unknown tenant (UNKNOWN_TENANT), or no ACTIVE customer matches (CUSTOMER_NOT_FOUND)."),
                "409": _error("Several customers match (AMBIGUOUS); none is named."),
                "413": _error(f"The body is over {MAX_LOOKUP_BYTES} bytes."),
                "415": common_errors["415"],
                "429": _error("Over the intake token's lookup rate (RATE_LIMITED).", _RETRY_AFTER),
                "503": _error(
                    "Retry after `Retry-After` seconds: the tenant's customers are not known before its first sync"
                    " (CUSTOMERS_UNKNOWN), or its token cannot be read (TOKEN_UNAVAILABLE).",
                    _RETRY_AFTER,
                ),
            },
        }
    }
