"""The packaged contract is the shared contract, and it loads."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from sonet_pipeline import contract
from tests.conftest import SHARED_CONTRACT, require_outside


def _files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_packaged_contract_equals_shared_contract_byte_for_byte():
    """Every file of ../shared/sonet-contract is packaged unchanged, and nothing else is."""
    require_outside(SHARED_CONTRACT.is_dir(), f"{SHARED_CONTRACT} is not here (a user's clone)")
    packaged = Path(str(contract.contract_root()))
    assert _files_under(packaged) == _files_under(SHARED_CONTRACT)


def test_examples_are_valid_against_the_packaged_schemas():
    """The contract's XML examples validate, so the schemas are loaded from the package correctly."""
    order_schema = contract.sales_order_schema()
    for name in ("sales-order-b2b.xml", "sales-order-guest.xml"):
        order_schema.assertValid(etree.fromstring(contract.read_bytes(f"examples/{name}")))
    response_schema = contract.message_response_schema()
    for name in ("receipt-accepted.xml", "error-throttled.xml", "error-unknown-item.xml"):
        response_schema.assertValid(etree.fromstring(contract.read_bytes(f"examples/{name}")))


def test_graphql_sdl_and_json_schema_load():
    assert "type Query" in contract.graphql_sdl()
    assert contract.commerce_order_schema()["$id"] == "urn:aicommerce:order:1"


def test_missing_contract_file_names_the_file():
    try:
        contract.read_bytes("nope.xsd")
    except FileNotFoundError as exc:
        assert "nope.xsd" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected FileNotFoundError")
