"""The contract's GraphQL schema (the packaged `schema.graphql`), built once per process, and the
queries checked against it before they are sent."""

from __future__ import annotations

from functools import cache

from graphql import DocumentNode, GraphQLSchema, build_schema, parse, validate

from sonet_pipeline.contract import graphql_sdl


@cache
def contract_schema() -> GraphQLSchema:
    """The Query API's schema, built from the packaged contract once per process."""
    return build_schema(graphql_sdl())


@cache
def validated_document(query: str) -> DocumentNode:
    """`query` parsed and validated against the contract's schema, once per process."""
    document = parse(query)
    errors = validate(contract_schema(), document)
    if errors:
        raise ValueError(f"a query that the Sonet contract does not allow: {errors[0].message}")
    return document
