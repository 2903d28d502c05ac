"""Web-shop orders: intake validation and their mapping to Sonet SalesOrder messages (pure, no Dagster)."""

from sonet_pipeline.orders.sales_order_xml import (
    MAX_MESSAGE_BYTES,
    TOO_LARGE,
    UNMAPPABLE,
    BuiltMessage,
    Unmappable,
    build_sales_order,
)
from sonet_pipeline.orders.validation import OrderProblem, validate_order

__all__ = [
    "MAX_MESSAGE_BYTES",
    "TOO_LARGE",
    "UNMAPPABLE",
    "BuiltMessage",
    "OrderProblem",
    "Unmappable",
    "build_sales_order",
    "validate_order",
]
