"""Is a Query API answer what the contract's schema promises for the query asked? Checked before use.

Sonet's `data` is checked against the query's own selections and the packaged `schema.graphql`: every
selected field present, no null where the type is non-null (`String!`), every value of its type:

| type | a value it allows |
| --- | --- |
| `ID`, `String` | a JSON string |
| `Int` | a JSON integer (not a boolean), 32-bit |
| `Boolean` | `true` or `false` |
| `Decimal` | a JSON string ("59.90"), never a JSON number; its text is judged later (below) |
| `DateTime` | a JSON string, ISO-8601 with a UTC offset |
| an enum | one of its values, as a string |
| a list, an object | a JSON array, a JSON object, each element or field checked the same way |

A `Decimal` whose text is not a number ("4,15") is the right wire type with bad content: the page is
stored as sent and the store's blocking rule `decimals_parse` names the record and holds that entity's
snapshot back (`store/publication_gate.py`), so one bad price neither stalls the sync behind it nor
reaches the shop.

The first problem found is returned with its path into `data` (`items.edges[3].node.vatRate`), so a
caller can name the entity, the field and the record. The check is compiled once per query text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLString,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
)

from sonet_pipeline.sonet.schema import contract_schema

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class ShapeProblem:
    """Where `data` breaks the schema: the path to the value, the type the schema gives it, and what is wrong."""

    path: Path
    type_name: str
    what: str

    @property
    def field(self) -> str:
        """The name of the field whose value is wrong (the last name in the path)."""
        return next((str(part) for part in reversed(self.path) if isinstance(part, str)), "")

    def describe(self) -> str:
        return f"{format_path(self.path) or 'data'} {self.what}, but the schema says {self.type_name}"


class _Broken(Exception):
    """Raised where a value breaks the schema; each enclosing level adds its part of the path."""

    def __init__(self, type_name: str, what: str) -> None:
        self.type_name, self.what = type_name, what
        self.parts: list[str | int] = []  # innermost first
        self.at_field = False  # the type of the field holding the value is known (set once)

    def problem(self) -> ShapeProblem:
        return ShapeProblem(tuple(reversed(self.parts)), self.type_name, self.what)


#: A check of one value; paths are built only when one fails (a page has thousands of values).
_Check = Callable[[Any], None]


def format_path(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
    return text


def check_data(query: str, data: Any) -> ShapeProblem | None:
    """The first way `data` (an answer's `data`) breaks the contract's schema for `query`, or None."""
    check = _compiled(query)
    try:
        check(data)
    except _Broken as broken:
        return broken.problem()
    return None


def locate(problem: ShapeProblem, data: Any, key_field: str, after: str | None) -> tuple[str | None, str | None]:
    """The key of the record at fault (when it has a string one) and the cursor nearest to it: its
    edge's, else `after` (the cursor the page was read after)."""
    path, key, cursor = problem.path, None, after
    top = data.get(path[0]) if isinstance(data, dict) and path else None
    node: Any = top
    if len(path) >= 3 and path[1] == "edges" and isinstance(path[2], int) and isinstance(top, dict):
        edge = top["edges"][path[2]]
        node = edge.get("node") if isinstance(edge, dict) else None
        edge_cursor = edge.get("cursor") if isinstance(edge, dict) else None
        cursor = edge_cursor if isinstance(edge_cursor, str) else after
    elif len(path) < 2:
        node = None
    if isinstance(node, dict) and isinstance(node.get(key_field), str):
        key = node[key_field]
    return key, cursor


@cache
def _compiled(query: str) -> _Check:
    schema, document = contract_schema(), parse(query)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or schema.query_type is None:
        raise ValueError("an answer is checked against a document with one query operation")
    return _object_check(schema.query_type, operations[0].selection_set)


def _object_check(object_type: GraphQLObjectType, selection_set: SelectionSetNode | None) -> _Check:
    fields: list[tuple[str, str, _Check]] = []
    for selection in selection_set.selections if selection_set else ():
        if not isinstance(selection, FieldNode):
            raise ValueError("fragments are not supported in checked queries")
        name = selection.name.value
        response_name = selection.alias.value if selection.alias else name
        if name == "__typename":
            fields.append((response_name, "String!", _typed(GraphQLNonNull(GraphQLString), None)))
            continue
        field_type = object_type.fields[name].type
        fields.append((response_name, str(field_type), _typed(field_type, selection.selection_set)))

    def check(value: Any) -> None:
        if type(value) is not dict:
            raise _Broken(object_type.name, f"is {_show(value)}, not an object")
        for response_name, type_name, check_field in fields:
            try:
                check_field(value[response_name])
            except KeyError:
                if response_name in value:
                    raise
                broken = _Broken(type_name, "is missing")
                broken.at_field = True
                broken.parts.append(response_name)
                raise broken from None
            except _Broken as broken:
                if not broken.at_field:  # the value of this very field: name its whole type (`Boolean!`)
                    broken.type_name, broken.at_field = type_name, True
                broken.parts.append(response_name)
                raise

    return check


def _typed(field_type: GraphQLOutputType, selection_set: SelectionSetNode | None) -> _Check:
    if isinstance(field_type, GraphQLNonNull):
        if isinstance(field_type.of_type, GraphQLScalarType):  # the hot path: one call per value
            return _scalar_check(field_type.of_type.name, nullable=False)
        inner = _typed(field_type.of_type, selection_set)

        def non_null(value: Any) -> None:
            if value is None:
                raise _Broken(str(field_type), "is null")
            inner(value)

        return non_null
    if isinstance(field_type, GraphQLList):
        item = _typed(field_type.of_type, selection_set)
        name = str(field_type)

        def listed(value: Any) -> None:
            if value is None:
                return
            if type(value) is not list:
                raise _Broken(name, f"is {_show(value)}, not a list")
            for index, element in enumerate(value):
                try:
                    item(element)
                except _Broken as broken:
                    broken.parts.append(index)
                    raise

        return listed
    if isinstance(field_type, GraphQLObjectType):
        object_check = _object_check(field_type, selection_set)

        def nullable_object(value: Any) -> None:
            if value is not None:
                object_check(value)

        return nullable_object
    if isinstance(field_type, GraphQLEnumType):
        allowed = frozenset(field_type.values)
        enum_name = field_type.name

        def enum(value: Any) -> None:
            if value is not None and (type(value) is not str or value not in allowed):
                raise _Broken(enum_name, f"is {_show(value)}, not one of {', '.join(sorted(allowed))}")

        return enum
    if isinstance(field_type, GraphQLScalarType):
        return _scalar_check(field_type.name, nullable=True)
    raise ValueError(f"an answer cannot hold a value of {field_type}")


def _scalar_check(name: str, *, nullable: bool) -> _Check:
    accepts, expected = _SCALARS.get(name, (_is_string, "a string"))
    type_name = name if nullable else f"{name}!"

    def scalar(value: Any) -> None:
        if not accepts(value):
            if value is None:
                if nullable:
                    return
                raise _Broken(type_name, "is null")
            raise _Broken(type_name, f"is {_show(value)}, not {expected}")

    return scalar


def _is_string(value: Any) -> bool:
    return type(value) is str


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -(2**31) <= value < 2**31


def _is_boolean(value: Any) -> bool:
    return value is True or value is False


def _is_decimal(value: Any) -> bool:
    """The scalar's wire type only: its text is the store's blocking rule's to judge (the docstring)."""
    return type(value) is str


def _is_datetime(value: Any) -> bool:
    if type(value) is not str or "T" not in value:
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


_SCALARS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "ID": (_is_string, "a string"),
    "String": (_is_string, "a string"),
    "Int": (_is_int, "a 32-bit integer"),
    "Boolean": (_is_boolean, "true or false"),
    "Decimal": (_is_decimal, 'a decimal number as a string, e.g. "59.90"'),
    "DateTime": (_is_datetime, "an ISO-8601 timestamp with a UTC offset, as a string"),
}


def _show(value: Any) -> str:
    """A short description of a JSON value for an error message (at most 60 characters of it)."""
    kind = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list", dict: "an object"}
    if value is None:
        return "null"
    shown = repr(value) if not isinstance(value, list | dict) else ""
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return f"{kind.get(type(value), type(value).__name__)} {shown}".strip()
