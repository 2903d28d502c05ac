"""Is a web-shop order acceptable at intake? `commerce-order.schema.json` plus the intake's own rules.

The schema is compiled once with fastjsonschema, which checks `format` (a `createdAt` of `yesterday` or
`2026-02-30T10:00:00Z` is refused) and stops at the first error; that error is reported with a JSON path
into the order (`lines[2].quantity`). Only a schema-valid order is checked against the semantic rules,
which all apply and are all reported:

- an account order names its Sonet customer: `customer.customerNumber` is not blank;
- a guest order names the guest: `customer.name` and `customer.email` are not blank;
- `createdAt` is written as RFC 3339 writes it: ASCII digits and the UTC offset as `Z` or `±hh:mm`
  (fastjsonschema's format check also lets `+0200` and non-ASCII digits such as `٢٠٢٦` through).

An order that passes can still be one that cannot become a SalesOrder (a quantity of 0, a method code with
a space): that is `build_sales_order`'s verdict (UNMAPPABLE), not a refusal at intake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import fastjsonschema

from sonet_pipeline.contract import commerce_order_schema
from sonet_pipeline.orders.json_path import json_path

#: `code` of a problem found by the JSON schema.
SCHEMA = "SCHEMA"
#: `code` of a problem found by the intake's semantic rules.
INVALID = "INVALID"

# The shape only: fastjsonschema has checked the ranges and the calendar.
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_INDEX = re.compile(r"\[([0-9]+)\]")


@dataclass(frozen=True, slots=True)
class OrderProblem:
    """Why an order is refused. `field` is a JSON path into the order, None when the order as a whole."""

    code: str
    message: str
    field: str | None


@cache
def _schema_validator() -> Any:
    return fastjsonschema.compile(commerce_order_schema(), use_default=False)


def validate_order(order: Any) -> list[OrderProblem]:
    """Every reason to refuse `order` (parsed JSON); an empty list when the intake accepts it."""
    try:
        _schema_validator()(order)
    except fastjsonschema.JsonSchemaValueException as error:
        return [_schema_problem(order, error)]
    return _semantic_problems(order)


def _semantic_problems(order: dict[str, Any]) -> list[OrderProblem]:
    problems: list[OrderProblem] = []
    customer = order["customer"]
    account = customer["kind"] == "account"
    for key in ("customerNumber",) if account else ("name", "email"):
        if not customer.get(key, "").strip():
            message = f"customer.{key} must not be blank in {'an account' if account else 'a guest'} order"
            problems.append(OrderProblem(INVALID, message, f"customer.{key}"))
    if not _RFC3339.fullmatch(order["createdAt"]):
        message = "createdAt must be an RFC 3339 date-time in ASCII digits with its UTC offset as Z or ±hh:mm"
        problems.append(OrderProblem(INVALID, message, "createdAt"))
    return problems


def _schema_problem(order: Any, error: fastjsonschema.JsonSchemaValueException) -> OrderProblem:
    name = error.name or "data"
    parts = _resolve(order, name[len("data") :]) if name.startswith("data") else None
    if parts is None:  # not found in the data (should not happen): fall back on fastjsonschema's split
        parts = [int(p) if p.isdigit() else p for p in error.path[1:]]
    reason = error.message[len(name) :].strip() if error.message.startswith(name) else error.message
    value, definition = error.value, error.definition or {}
    if error.rule == "required" and isinstance(value, dict):
        missing = next((key for key in error.rule_definition or () if key not in value), None)
        if missing is not None:
            field: str | None = json_path([*parts, missing])
            return OrderProblem(SCHEMA, f"{field} is required", field)
    if error.rule == "additionalProperties" and isinstance(value, dict):
        known = definition.get("properties", {})
        extra = next((key for key in value if key not in known), None)
        if extra is not None:
            field = json_path([*parts, extra])
            return OrderProblem(SCHEMA, f"{field} is not allowed here", field)
    field = json_path(parts) if parts else None
    if error.rule == "format" and error.rule_definition == "date-time":
        reason = "must be an RFC 3339 date-time with a UTC offset, e.g. 2026-11-28T04:38:00Z"
    return OrderProblem(SCHEMA, f"{field or 'the order'} {reason}", field)


def _resolve(value: Any, rest: str) -> list[str | int] | None:
    """fastjsonschema's `data.lines[1].variant.Size (EU)` suffix as path parts, guided by the data.

    Keys may themselves hold `.` or `[`, so the name is matched against the keys actually present,
    longest first.
    """
    if not rest:
        return []
    if isinstance(value, list):
        index = _INDEX.match(rest)
        if index is None or int(index[1]) >= len(value):
            return None
        tail = _resolve(value[int(index[1])], rest[index.end() :])
        return None if tail is None else [int(index[1]), *tail]
    if isinstance(value, dict) and rest.startswith("."):
        keys = [key for key in value if isinstance(key, str) and rest.startswith(key, 1)]
        for key in sorted(keys, key=len, reverse=True):
            tail = _resolve(value[key], rest[1 + len(key) :])
            if tail is not None:
                return [key, *tail]
    return None
