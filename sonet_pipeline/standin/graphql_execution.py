"""How the Query API runs a request through ariadne, fast enough for pages of 500 records.

Two plug-ins of ariadne and graphql-core, nothing re-implemented: `ParsedQueries` parses and validates
each distinct query text once, and `DictExecutionContext` serializes leaf fields of plain-dict records
directly. `format_error` gives every error its `extensions.code`.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

from ariadne import graphql_sync
from graphql import (
    DocumentNode,
    ExecutionContext,
    FieldNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    Undefined,
    parse,
    validate,
)
from graphql.pyutils import Path

from sonet_pipeline.standin.runtime import Company

log = logging.getLogger(__name__)
#: ariadne logs every error it meets; errors a client caused are answered, not logged (INTERNAL ones
#: are logged by `format_error`).
_client_errors = logging.getLogger(f"{__name__}.client_errors")
_client_errors.addHandler(logging.NullHandler())
_client_errors.propagate = False


class DictExecutionContext(ExecutionContext):
    """graphql-core's execution with one shortcut for the hot path of large pages (synchronous only).

    On a plain-dict record, a leaf field (scalar or enum) without a resolver or arguments of its own is
    serialized straight from the dict: exactly what the default resolver and `complete_value` would do,
    minus their per-field bookkeeping. Anything else, and any null or failing value, takes the standard
    path (which reports errors as usual).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._leaves: dict[tuple[str, str], GraphQLScalarType | GraphQLEnumType | None] = {}

    def execute_fields(
        self, parent_type: GraphQLObjectType, source_value: Any, path: Path | None, fields: dict[str, list[FieldNode]]
    ) -> Any:
        if type(source_value) is not dict:
            return super().execute_fields(parent_type, source_value, path, fields)
        results: dict[str, Any] = {}
        for response_name, field_nodes in fields.items():
            leaf = self._plain_leaf(parent_type, field_nodes[0])
            if leaf is not None:
                value = source_value.get(field_nodes[0].name.value)
                if value is not None:
                    try:
                        serialized = leaf.serialize(value)
                    except Exception:
                        serialized = None
                    if serialized is not None and serialized is not Undefined:
                        results[response_name] = serialized
                        continue
            field_path = Path(path, response_name, parent_type.name)
            result = self.execute_field(parent_type, source_value, field_nodes, field_path)
            if self.is_awaitable(result):
                raise TypeError("DictExecutionContext executes synchronous resolvers only")
            if result is not Undefined:
                results[response_name] = result
        return results

    def _plain_leaf(
        self, parent_type: GraphQLObjectType, node: FieldNode
    ) -> GraphQLScalarType | GraphQLEnumType | None:
        key = (parent_type.name, node.name.value)
        if key not in self._leaves:
            field_def = parent_type.fields.get(node.name.value)
            leaf = None
            if field_def is not None and field_def.resolve is None and not node.arguments:
                named = field_def.type.of_type if isinstance(field_def.type, GraphQLNonNull) else field_def.type
                leaf = named if isinstance(named, GraphQLScalarType | GraphQLEnumType) else None
            self._leaves[key] = leaf
        return self._leaves[key]


class ParsedQueries:
    """Parsed and validated documents by query text: clients send the same few queries again and again.

    Plugged into ariadne as its `query_parser` and `query_validator`. Thread-safe, bounded.
    """

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._documents: OrderedDict[str, DocumentNode] = OrderedDict()
        #: Validation errors by id of a cached document (None: not validated yet).
        self._errors: dict[int, list[GraphQLError] | None] = {}
        self._lock = threading.Lock()

    def parse(self, _context: Any, data: dict[str, Any]) -> DocumentNode:
        text = data["query"]
        with self._lock:
            document = self._documents.get(text)
            if document is not None:
                self._documents.move_to_end(text)
                return document
        document = parse(text)
        with self._lock:
            self._documents[text] = document
            self._errors[id(document)] = None
            while len(self._documents) > self._size:
                _, dropped = self._documents.popitem(last=False)
                self._errors.pop(id(dropped), None)
        return document

    def validate(
        self, schema: GraphQLSchema, document_ast: DocumentNode, *args: Any, **kwargs: Any
    ) -> list[GraphQLError]:
        with self._lock:
            errors = self._errors.get(id(document_ast))
        if errors is None:
            errors = validate(schema, document_ast, *args, **kwargs)
            with self._lock:
                if id(document_ast) in self._errors:  # still cached
                    self._errors[id(document_ast)] = errors
        return errors


def format_error(error: GraphQLError, debug: bool = False) -> dict[str, Any]:
    """Every error gets a code: its own (a resolver's BAD_USER_INPUT); else a request error (syntax,
    validation, variables: no path) is BAD_USER_INPUT and an execution error (a path) is INTERNAL."""
    formatted = dict(error.formatted)
    code = (error.extensions or {}).get("code")
    if code is None and error.path is not None:
        log.error("internal error in the Query API at %s: %s", error.path, error.message, exc_info=error.original_error)
        formatted["message"] = "internal error"
        code = "INTERNAL"
    formatted["extensions"] = {"code": code or "BAD_USER_INPUT"}
    return formatted


def execute(schema: GraphQLSchema, company: Company, data: Any, queries: ParsedQueries | None = None) -> dict[str, Any]:
    """Run one request body `{query, variables, operationName}`; the answer is always HTTP 200."""
    queries = queries or ParsedQueries(size=1)
    _success, result = graphql_sync(
        schema,
        data,
        context_value={"company": company},
        query_parser=queries.parse,
        query_validator=queries.validate,
        execution_context_class=DictExecutionContext,
        error_formatter=format_error,
        debug=False,
        logger=_client_errors,
    )
    return result
