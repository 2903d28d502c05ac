"""The Query API: `POST /graphql`, executed by ariadne over the contract's own `schema.graphql`.

Lists are Relay connections ordered by `(dateModified, key)`, read from `CompanyState.page`. Records
are plain dicts in GraphQL shape, so the default resolvers read their keys and the per-item cost stays
low. Cursors are opaque: urlsafe base64 of `v1|entity|ms|key`. Every error carries
`extensions.code`; `BAD_USER_INPUT` and `INTERNAL` answer HTTP 200. With `hostile_query`, answers are
spoiled on purpose (`hostile.py`).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from ariadne import QueryType, ScalarType, make_executable_schema
from graphql import GraphQLError, GraphQLSchema
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from sonet_pipeline.contract import graphql_sdl
from sonet_pipeline.standin.graphql_execution import ParsedQueries, execute
from sonet_pipeline.standin.guard import error_response, guarded, read_body
from sonet_pipeline.standin.hostile import spoil_query_answer
from sonet_pipeline.standin.runtime import QUERY_API, Company, Standin
from sonet_pipeline.standin.state import ENTITY_KEYS, to_ms

MAX_QUERY_BYTES = 1024 * 1024
MAX_FIRST = 500
DEFAULT_FIRST = 100
_CURSOR_VERSION = "v1"
_PLUS_TWO = timezone(timedelta(hours=2))
_DATETIME_INPUT = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$")


class BadUserInput(GraphQLError):
    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": "BAD_USER_INPUT"})


# --- scalars -----------------------------------------------------------------------------------


def format_datetime(value: datetime, *, mixed_offsets: bool = False) -> str:
    """ISO-8601 with milliseconds: `Z`, or with `mixed_offsets` every third millisecond `+02:00`."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    if mixed_offsets and to_ms(value) % 3 == 0:
        return value.astimezone(_PLUS_TWO).isoformat(timespec="milliseconds")
    return value.isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_datetime_input(value: Any) -> datetime:
    """A DateTime input: ISO-8601 with an explicit offset, fraction digits optional (any number)."""
    match = _DATETIME_INPUT.match(value) if isinstance(value, str) else None
    if match is None:
        raise BadUserInput(f"DateTime needs an ISO-8601 value with a UTC offset, e.g. 2026-11-28T04:38:00Z: {value!r}")
    whole, fraction, offset = match.groups()
    fraction = fraction or ""
    micros = int((fraction + "000000")[:6])
    try:
        instant = datetime.fromisoformat(f"{whole}{'+00:00' if offset == 'Z' else offset}")
    except ValueError as exc:
        raise BadUserInput(f"invalid DateTime {value!r}: {exc}") from None
    # Digits beyond microseconds round up by one microsecond: the millisecond ceiling stays exact.
    extra = 1 if fraction[6:].strip("0") else 0
    return instant + timedelta(microseconds=micros + extra)


def _serialize_decimal(value: Any) -> str:
    if isinstance(value, float):
        raise GraphQLError(f"a Decimal is never a float: {value!r}")
    return str(value)


def _parse_decimal(value: Any) -> Decimal:
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except ArithmeticError:
            pass
        else:
            if number.is_finite():
                return number
    raise BadUserInput(f'Decimal needs a number as a string, e.g. "59.90": {value!r}')


# --- cursors -----------------------------------------------------------------------------------


def encode_cursor(entity: str, modified_ms: int, key: str) -> str:
    raw = f"{_CURSOR_VERSION}|{entity}|{modified_ms}|{key}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_cursor(entity: str, cursor: str) -> tuple[int, str]:
    """The `(dateModified ms, key)` position a cursor of this list stands for."""
    try:
        raw = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("utf-8")
        version, cursor_entity, ms, key = raw.split("|", 3)
        if version != _CURSOR_VERSION or cursor_entity != entity or not ms.isdigit():
            raise ValueError
        return int(ms), key
    except (ValueError, UnicodeError, binascii.Error):
        raise BadUserInput(f"invalid cursor for {entity}: pass a pageInfo.endCursor of this list") from None


# --- resolvers ---------------------------------------------------------------------------------


def _list_resolver(entity: str) -> Callable[..., dict[str, Any]]:
    def resolve(
        _obj: Any,
        info: Any,
        filter: dict[str, Any] | None = None,
        first: int | None = DEFAULT_FIRST,
        after: str | None = None,
    ) -> dict[str, Any]:
        if first is None or not 1 <= first <= MAX_FIRST:
            raise BadUserInput(f"first must be 1 to {MAX_FIRST}, got {first}")
        position = None if after is None else decode_cursor(entity, after)
        bounds = filter or {}
        company: Company = info.context["company"]
        page = company.state.page(
            entity,
            first=first,
            after=position,
            modified_from=bounds.get("modifiedFrom"),
            modified_to=bounds.get("modifiedTo"),
        )
        edges = [
            {"cursor": encode_cursor(entity, ms, key), "node": record}
            for record, (ms, key) in zip(page.records, page.positions, strict=True)
        ]
        end_cursor = edges[-1]["cursor"] if edges else None
        return {"edges": edges, "pageInfo": {"hasNextPage": page.has_next_page, "endCursor": end_cursor}}

    return resolve


def _resolve_sales_order(_obj: Any, info: Any, messageId: str) -> dict[str, Any] | None:
    company: Company = info.context["company"]
    return company.state.visible("salesOrders", messageId)


def build_schema(*, mixed_offsets: bool = False) -> GraphQLSchema:
    """The executable schema from the contract's SDL text (never a re-typed copy)."""
    query = QueryType()
    for entity in ENTITY_KEYS:
        query.set_field(entity, _list_resolver(entity))
    query.set_field("salesOrder", _resolve_sales_order)
    date_time = ScalarType(
        "DateTime",
        serializer=lambda value: format_datetime(value, mixed_offsets=mixed_offsets),
        value_parser=parse_datetime_input,
    )
    decimal = ScalarType("Decimal", serializer=_serialize_decimal, value_parser=_parse_decimal)
    return make_executable_schema(graphql_sdl(), query, date_time, decimal)


def validate_body(data: Any) -> str | None:
    """Why a decoded JSON body is not a GraphQL request, or None when it is one."""
    if not isinstance(data, dict):
        return "the body must be a JSON object {query, variables, operationName}"
    if not isinstance(data.get("query"), str):
        return "the body needs a query string"
    if data.get("variables") is not None and not isinstance(data["variables"], dict):
        return "variables must be a JSON object"
    if data.get("operationName") is not None and not isinstance(data["operationName"], str):
        return "operationName must be a string"
    return None


def query_endpoint(standin: Standin) -> Callable[[Request], Awaitable[Response]]:
    """The `/graphql` endpoint: the guard, then size, then the request itself."""
    schema = build_schema(mixed_offsets=standin.config.mixed_offsets)
    queries = ParsedQueries()

    async def endpoint(request: Request) -> Response:
        return await guarded(
            standin, request, QUERY_API, lambda company: _answer(standin, schema, queries, company, request)
        )

    return endpoint


async def _answer(
    standin: Standin, schema: GraphQLSchema, queries: ParsedQueries, company: Company, request: Request
) -> Response:
    if request.method != "POST":
        return _bad_request(400, "use POST with a JSON body {query, variables, operationName}")
    body = await read_body(request, MAX_QUERY_BYTES)
    if body is None:
        return _bad_request(413, f"the request body is over {MAX_QUERY_BYTES} bytes")
    try:
        data = json.loads(body)
    except ValueError:
        return _bad_request(400, "the body is not JSON")
    problem = validate_body(data)
    if problem is not None:
        return _bad_request(400, problem)
    result = await run_in_threadpool(execute, schema, company, data, queries)
    return spoil_query_answer(standin, company, request, result)  # JSON as it is, unless hostile faults are on


def _bad_request(status: int, message: str) -> Response:
    return error_response(QUERY_API, status, "BAD_USER_INPUT", message)
