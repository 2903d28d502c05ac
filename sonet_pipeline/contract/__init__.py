"""The Sonet interface contract, shipped as package data, and its one loader.

The files under `files/` are a byte-for-byte copy of `shared/sonet-contract/` (a test proves it).
Everything that needs the contract, the pipeline and the stand-in alike, loads it from here.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

from lxml import etree

SCHEMA_GRAPHQL = "schema.graphql"
SALES_ORDER_XSD = "sales-order.xsd"
MESSAGE_RESPONSE_XSD = "message-response.xsd"
COMMERCE_ORDER_SCHEMA = "commerce-order.schema.json"

#: The XML namespace of every Sonet message.
MESSAGES_NS = "urn:sonet:messages:1"


def contract_root() -> Traversable:
    """The folder that holds the packaged contract files."""
    return files(__name__).joinpath("files")


def read_bytes(name: str) -> bytes:
    """A contract file's bytes, by its path inside the contract (e.g. `examples/receipt-accepted.xml`)."""
    node = contract_root()
    for part in name.split("/"):
        node = node.joinpath(part)
    if not node.is_file():
        raise FileNotFoundError(f"the packaged Sonet contract has no file {name!r}")
    return node.read_bytes()


def read_text(name: str) -> str:
    return read_bytes(name).decode("utf-8")


def graphql_sdl() -> str:
    """The Query API's schema, as written in `schema.graphql`."""
    return read_text(SCHEMA_GRAPHQL)


@cache
def sales_order_schema() -> etree.XMLSchema:
    """The compiled `sales-order.xsd`. lxml schemas are safe to share for `validate()`."""
    return etree.XMLSchema(etree.fromstring(read_bytes(SALES_ORDER_XSD)))


@cache
def message_response_schema() -> etree.XMLSchema:
    """The compiled `message-response.xsd` (MessageReceipt and MessageError)."""
    return etree.XMLSchema(etree.fromstring(read_bytes(MESSAGE_RESPONSE_XSD)))


@cache
def commerce_order_schema() -> dict[str, Any]:
    """The web-shop order's JSON Schema, as a dict."""
    schema: dict[str, Any] = json.loads(read_text(COMMERCE_ORDER_SCHEMA))
    return schema
