"""Untrusted bytes to judged orders, for the HTTP intake and `orders enqueue FILE` alike.

`parse_json` returns a value or raises `BadPayload` with a message fit for the sender (never echoing
the bytes): not UTF-8, not JSON, nested too deeply, a number too long to convert, NaN/Infinity.

`lone_surrogate_at` finds a string holding a lone UTF-16 surrogate (`"\\ud800"` parses in Python but
is not text: no database or XML document can hold it). The scan only runs when the raw bytes hold
such an escape at all (`may_hold_surrogates`), so ordinary orders pay nothing for it.

`judge_order` is the one verdict on a parsed order: text check, then `validate_order`.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from sonet_pipeline.orders.json_path import json_path
from sonet_pipeline.orders.validation import OrderProblem, validate_order

log = logging.getLogger(__name__)

#: `code` of an order holding a string that is not text (a lone surrogate).
INVALID_TEXT = "INVALID_TEXT"

MAX_ORDER_BYTES = 1024 * 1024
MAX_BATCH_BYTES = 8 * 1024 * 1024
MAX_BATCH_ORDERS = 1_000

#: A `\\uD800`-`\\uDFFF` escape; only then can a parsed string hold a surrogate.
_SURROGATE_ESCAPE = re.compile(rb"\\[uU][dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class BadPayload(ValueError):
    """The bytes are not acceptable JSON; the message says why."""


def _refuse_constant(name: str) -> Any:
    raise BadPayload(f"{name} is not a JSON value")


#: One decoder for every call (`json.loads` with options would build a new one each time).
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def parse_json(data: bytes | str) -> Any:
    try:
        # As `json.loads` reads bytes (UTF-8, -16 or -32, detected), but strict: no encoded lone surrogates.
        text = data if isinstance(data, str) else data.decode(json.detect_encoding(data))
        if text.startswith("\ufeff"):
            raise BadPayload("the body starts with a byte order mark, which JSON does not allow")
        return _DECODER.decode(text)
    except BadPayload:
        raise
    except RecursionError:
        raise BadPayload("the JSON is nested too deeply") from None
    except UnicodeDecodeError:
        raise BadPayload("the body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BadPayload(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError as exc:  # e.g. an integer longer than Python converts (sys.get_int_max_str_digits)
        raise BadPayload(f"not acceptable JSON: {str(exc).split(';')[0]}") from None


def may_hold_surrogates(raw: bytes | str) -> bool:
    """Whether the JSON text has a surrogate escape (cheap; a valid emoji pair matches too)."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    return _SURROGATE_ESCAPE.search(data) is not None


def lone_surrogate_at(value: Any) -> str | None:
    """The JSON path (`lines[0].sku`; `""` for the value itself) of the first string, key or value,
    holding an unpaired surrogate; None when every string is text."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while stack:
        parts, item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return json_path(parts)
        elif isinstance(item, dict):
            for key, child in reversed(item.items()):
                if _SURROGATE.search(key):
                    return json_path(parts)
                stack.append(((*parts, key), child))
        elif isinstance(item, list):
            stack.extend(((*parts, index), child) for index, child in reversed(list(enumerate(item))))
    return None


def judge_order(order: Any, *, check_text: bool = True) -> list[OrderProblem]:
    """Every reason to refuse `order`; empty when acceptable. Never raises: a validator that breaks
    on some input refuses it (and logs why) rather than failing the request."""
    if check_text:
        where = lone_surrogate_at(order)
        if where is not None:
            return [
                OrderProblem(INVALID_TEXT, "a string holds a lone UTF-16 surrogate, which is not text", where or None)
            ]
    try:
        return validate_order(order)
    except Exception:
        log.exception("validate_order broke on an order; refusing it")
        return [OrderProblem("INVALID", "the order could not be validated", None)]


def first_problem(problems: list[OrderProblem]) -> OrderProblem:
    """The first problem, its message naming how many more there are and where (one error to report)."""
    first = problems[0]
    if len(problems) == 1:
        return first
    others = ", ".join(p.field or "(the order)" for p in problems[1:4]) + (", ..." if len(problems) > 4 else "")
    return OrderProblem(first.code, f"{first.message} (and {len(problems) - 1} more: {others})", first.field)
