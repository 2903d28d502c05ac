"""The columns of each synced entity, as Dagster's `dagster/column_schema`, from the contract itself.

Every field of the entity's GraphQL type (`schema.graphql`) is a column of the tenant's store: its
GraphQL type (`Decimal!`), its description from the contract, and how the store keeps it (`text`,
`decimal` as Sonet's exact text, lists and objects as `json`); the key is unique, a `!` field not
nullable. The store's own bookkeeping columns (`_run_id`, `_synced_at`, ...) are not listed.
"""

from __future__ import annotations

from functools import cache

from dagster import MetadataValue, TableColumn, TableColumnConstraints, TableSchema

from sonet_pipeline.sonet.entities import entity
from sonet_pipeline.sonet.schema import contract_schema

#: The metadata key Dagster shows as an asset's columns.
COLUMN_SCHEMA = "dagster/column_schema"


@cache
def entity_column_schema(name: str) -> TableSchema:
    """The columns of the entity `name` (items, customers, segments, sales_orders)."""
    described = entity(name)
    graphql_type = contract_schema().get_type(described.type_name)
    graphql_fields = getattr(graphql_type, "fields", {})
    columns = []
    for field in described.fields:
        graphql_field = graphql_fields.get(field.name)
        about = graphql_field.description if graphql_field is not None else None
        columns.append(
            TableColumn(
                field.name,
                type=str(graphql_field.type) if graphql_field is not None else field.kind,
                description=f"{about} Stored as {field.kind}." if about else f"Stored as {field.kind}.",
                constraints=TableColumnConstraints(nullable=field.nullable, unique=field.name == described.key),
            )
        )
    return TableSchema(columns=columns)


def column_schema_metadata(name: str) -> dict[str, MetadataValue]:
    """`dagster/column_schema` for the entity `name`, for an asset's definition or materialization."""
    return {COLUMN_SCHEMA: MetadataValue.table_schema(entity_column_schema(name))}
