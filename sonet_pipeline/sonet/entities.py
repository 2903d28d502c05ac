"""The Sonet lists the pipeline syncs, described from the contract's `schema.graphql` itself.

Field names, types and nesting come from the packaged schema, so the queries, the store's columns and
`store dump` follow the contract and cannot drift from it. Scalars become columns of their own kind;
lists and objects (variantAttributes, addresses, contacts, segmentCodes) are kept as JSON text;
DateTimes (dateModified, a price list line's validFrom and validTo) as instants.
Decimals are kept as the exact text Sonet sent ("59.90" stays "59.90").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
)

from sonet_pipeline.sonet.schema import contract_schema

#: How a field is stored and written back: its column kind.
TEXT, BOOLEAN, INTEGER, DECIMAL, DATETIME, JSON = "text", "boolean", "integer", "decimal", "datetime", "json"


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    nullable: bool
    #: GraphQL selection of the field (with sub-fields for objects).
    selection: str


@dataclass(frozen=True)
class Entity:
    #: The pipeline's name (asset keys, store tables, CLI): items, customers, segments, sales_orders,
    #: price_list_lines.
    name: str
    #: The Query API list that serves it.
    list_field: str
    type_name: str
    key: str
    fields: tuple[Field, ...]

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def fields_of(self, kind: str) -> list[str]:
        return [f.name for f in self.fields if f.kind == kind]

    def page_query(self) -> str:
        """The query for one page of this list: every field of the contract, cursor paging, change filter."""
        selection = " ".join(f.selection for f in self.fields)
        return (
            f"query {self.type_name}Page($filter: ChangeFilter, $first: Int, $after: String) {{ "
            f"{self.list_field}(filter: $filter, first: $first, after: $after) {{ "
            f"edges {{ cursor node {{ {selection} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
        )


_LISTS = {
    # pipeline name: (Query field, key)
    "items": ("items", "itemCode"),
    "customers": ("customers", "customerNumber"),
    "segments": ("customerSegments", "segmentCode"),
    "sales_orders": ("salesOrders", "messageId"),
    "price_list_lines": ("priceListLines", "lineId"),  # contract 1.1
}

#: What the inbound sync brings in: the shop's records, the orders Sonet accepted (their status), and
#: the lines of the customers' price lists.
SYNCED = ("items", "customers", "segments", "sales_orders", "price_list_lines")


@cache
def entities() -> dict[str, Entity]:
    schema = contract_schema()
    query = schema.query_type
    assert query is not None
    found = {}
    for name, (list_field, key) in _LISTS.items():
        connection = _unwrap(query.fields[list_field].type)
        assert isinstance(connection, GraphQLObjectType)
        edge = _unwrap(connection.fields["edges"].type)
        assert isinstance(edge, GraphQLObjectType)
        node = _unwrap(edge.fields["node"].type)
        assert isinstance(node, GraphQLObjectType)
        fields = tuple(_field(field_name, field.type) for field_name, field in node.fields.items())
        found[name] = Entity(name, list_field, node.name, key, fields)
    return found


def entity(name: str) -> Entity:
    try:
        return entities()[name]
    except KeyError:
        raise ValueError(f"unknown entity {name!r}; known: {', '.join(_LISTS)}") from None


def _unwrap(graphql_type: GraphQLOutputType) -> GraphQLOutputType:
    while isinstance(graphql_type, GraphQLNonNull | GraphQLList):
        graphql_type = graphql_type.of_type
    return graphql_type


def _field(name: str, graphql_type: GraphQLOutputType) -> Field:
    nullable = not isinstance(graphql_type, GraphQLNonNull)
    bare = graphql_type.of_type if isinstance(graphql_type, GraphQLNonNull) else graphql_type
    named = _unwrap(graphql_type)
    if isinstance(bare, GraphQLList) or isinstance(named, GraphQLObjectType):
        return Field(name, JSON, nullable, f"{name} {_sub_selection(named)}".strip())
    if isinstance(named, GraphQLEnumType):
        return Field(name, TEXT, nullable, name)
    assert isinstance(named, GraphQLScalarType)
    kind = {"Boolean": BOOLEAN, "Int": INTEGER, "Decimal": DECIMAL, "DateTime": DATETIME}.get(named.name, TEXT)
    return Field(name, kind, nullable, name)


def _sub_selection(named: GraphQLOutputType) -> str:
    if not isinstance(named, GraphQLObjectType):
        return ""
    parts = [f"{n} {_sub_selection(_unwrap(f.type))}".strip() for n, f in named.fields.items()]
    return "{ " + " ".join(parts) + " }"
