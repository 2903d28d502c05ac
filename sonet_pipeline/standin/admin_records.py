"""Records written through the admin endpoints: checked against the contract's types, merged by key.

A change names its entity and gives records by key: a key Sonet has gets the given fields merged into
its newest version (a partial update), a new key must carry every non-null field of its GraphQL type.
Fields the type does not have are refused, so the Query API never meets a record it cannot answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from functools import cache
from typing import Any, cast

from graphql import GraphQLError, GraphQLNonNull, GraphQLObjectType, build_schema, get_named_type

from sonet_pipeline.contract import graphql_sdl
from sonet_pipeline.standin.graphql_api import format_datetime, parse_datetime_input
from sonet_pipeline.standin.state import ENTITY_KEYS, CompanyState, Record

#: The GraphQL type of each entity's records.
ENTITY_TYPES = {
    "items": "Item",
    "customers": "Customer",
    "customerSegments": "CustomerSegment",
    "salesOrders": "SalesOrder",
    "priceListLines": "PriceListLine",
}


class RecordError(ValueError):
    """An admin change that cannot be applied; the message says why."""


@cache
def _fields(entity: str) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """All field names of the entity's type, the non-null ones, and the DateTime ones."""
    type_ = build_schema(graphql_sdl()).get_type(ENTITY_TYPES[entity])
    assert isinstance(type_, GraphQLObjectType)
    required = {name for name, field in type_.fields.items() if isinstance(field.type, GraphQLNonNull)}
    instants = {name for name, field in type_.fields.items() if get_named_type(field.type).name == "DateTime"}
    return frozenset(type_.fields), frozenset(required), frozenset(instants)


def check_entity(entity: Any) -> str:
    if entity not in ENTITY_KEYS:
        raise RecordError(f"unknown entity {entity!r}; known: {', '.join(ENTITY_KEYS)}")
    return cast(str, entity)  # one of ENTITY_KEYS' keys


def merged_records(state: CompanyState, entity: str, changes: Iterable[Any]) -> list[Record]:
    """The whole records a list of (partial) records amounts to, on top of the newest versions."""
    key_field = ENTITY_KEYS[entity]
    known, required, instants = _fields(entity)
    records: list[Record] = []
    for change in changes:
        if not isinstance(change, dict) or not isinstance(change.get(key_field), str):
            raise RecordError(f"each {entity} record needs its key {key_field!r} as a string")
        unknown = set(change) - known
        if unknown:
            raise RecordError(f"{entity} records have no field(s) {', '.join(sorted(unknown))}")
        fields = {name: value for name, value in change.items() if name != "dateModified"}
        for name in instants.intersection(fields):  # e.g. a price list line's validFrom, as the API reads it
            fields[name] = _instant(entity, name, fields[name])
        previous = state.latest(entity, change[key_field])
        if entity == "salesOrders":
            _check_sales_order_change(change[key_field], fields, previous)
        if previous is None:
            missing = required - set(fields) - {"dateModified"}
            if missing:
                raise RecordError(f"new {entity} record {change[key_field]!r} lacks {', '.join(sorted(missing))}")
            records.append(fields)
        else:
            records.append({**previous, **fields})
    return records


def _instant(entity: str, name: str, value: Any) -> datetime | None:
    """A DateTime field of an admin change: null, or ISO-8601 text with an offset."""
    if value is None:
        return None
    try:
        return parse_datetime_input(value)
    except GraphQLError as exc:
        raise RecordError(f"{entity} field {name!r}: {exc.message}") from None


#: What `SalesOrder.orderStatus` may be (schema.graphql).
ORDER_STATUSES = ("RECEIVED", "CONFIRMED", "DELIVERED", "CANCELLED")


def _check_sales_order_change(message_id: str, fields: dict[str, Any], previous: Record | None) -> None:
    """A sales order exists only once Sonet accepted its message; a change may move its status."""
    if previous is None:
        raise RecordError(f"no sales order with messageId {message_id!r}: they come from accepted messages")
    status = fields.get("orderStatus", previous["orderStatus"])
    if status not in ORDER_STATUSES:
        raise RecordError(f"orderStatus must be one of {', '.join(ORDER_STATUSES)}, got {status!r}")


def duplicate_rows(state: CompanyState, entity: str, changes: Any) -> list[Record]:
    """The second rows a faulty Sonet lists beside existing records: each change merged into its key's
    newest version, checked like any change. Each must differ from that version (else no fault)."""
    if not isinstance(changes, list) or not changes:
        raise RecordError("give the records to list twice")
    rows = merged_records(state, entity, changes)
    for row in rows:
        key = row[ENTITY_KEYS[entity]]
        if state.latest(entity, key) in (None, row):
            raise RecordError(f"{entity} {key!r}: a second row must be an existing record, with a change")
    return rows


def deletions(state: CompanyState, entity: str, keys: Iterable[Any]) -> list[Record]:
    """New versions with `status: DELETED` of the given keys (all must exist)."""
    records: list[Record] = []
    for key in keys:
        previous = state.latest(entity, key) if isinstance(key, str) else None
        if previous is None:
            raise RecordError(f"cannot delete {entity} {key!r}: no such record")
        records.append({**previous, "status": "DELETED"})
    return records


def record_json(record: Record, *, mixed_offsets: bool = False) -> str:
    """One record as JSON in the Query API's formats (DateTime as ISO-8601 with ms; Decimal strings)."""
    return json.dumps(record, ensure_ascii=False, default=lambda value: _encode(value, mixed_offsets))


def json_lines(records: Iterable[Record], *, mixed_offsets: bool = False, batch: int = 1000) -> Iterator[bytes]:
    """JSON Lines, `batch` records a chunk (a streaming response hops threads once per chunk)."""
    lines: list[str] = []
    for record in records:
        lines.append(record_json(record, mixed_offsets=mixed_offsets))
        if len(lines) == batch:
            yield ("\n".join(lines) + "\n").encode("utf-8")
            lines.clear()
    if lines:
        yield ("\n".join(lines) + "\n").encode("utf-8")


def _encode(value: Any, mixed_offsets: bool) -> Any:
    if isinstance(value, datetime):
        return format_datetime(value, mixed_offsets=mixed_offsets)
    return str(value)  # Decimal and friends, as the Query API sends them
