"""`answer_shape.check_data`: a Query API answer's `data` against the contract's schema for the query."""

from __future__ import annotations

import copy

import pytest

from sonet_pipeline.sonet.answer_shape import check_data, locate
from sonet_pipeline.sonet.entities import entity
from tests.store.samples import BILLING_ADDRESS

CUSTOMERS = entity("customers")
QUERY = CUSTOMERS.page_query()
CUSTOMER = {
    "customerNumber": "C10001",
    "name": "Rakennus Oy",
    "businessId": "1234567-1",
    "vatNumber": None,
    "email": None,
    "phone": None,
    "segmentCodes": ["B2B"],
    "priceListCode": None,
    "paymentTermsCode": "N14",
    "creditLimit": "5000.00",
    "orderBlocked": False,
    "addresses": [BILLING_ADDRESS],
    "contacts": [{"contactId": "C10001-1", "name": "Maija", "email": None, "role": "BUYER"}],
    "status": "ACTIVE",
    "dateModified": "2026-11-28T04:38:00.123+02:00",
}


def page(*nodes: dict) -> dict:
    edges = [{"cursor": f"c{i}", "node": node} for i, node in enumerate(nodes)]
    return {"customers": {"edges": edges, "pageInfo": {"hasNextPage": False, "endCursor": "c9" if nodes else None}}}


def broken(**changes: object) -> dict:
    node = copy.deepcopy(CUSTOMER)
    for name, value in changes.items():
        if value is ...:
            del node[name]
        else:
            node[name] = value
    return node


def test_a_valid_page_and_an_empty_one_pass():
    assert check_data(QUERY, page(CUSTOMER, CUSTOMER)) is None
    assert check_data(QUERY, page()) is None


@pytest.mark.parametrize(
    ("changes", "path", "expected"),
    [
        ({"name": ...}, "customers.edges[1].node.name", "is missing, but the schema says String!"),
        ({"name": None}, "customers.edges[1].node.name", "is null, but the schema says String!"),
        ({"name": 5}, "customers.edges[1].node.name", "is a number 5, not a string, but the schema says String!"),
        ({"creditLimit": 5000.0}, "customers.edges[1].node.creditLimit", "is a number 5000.0, not a decimal"),
        ({"creditLimit": True}, "customers.edges[1].node.creditLimit", "but the schema says Decimal"),
        ({"orderBlocked": "false"}, "customers.edges[1].node.orderBlocked", "not true or false, but the schema"),
        ({"orderBlocked": 0}, "customers.edges[1].node.orderBlocked", "is a number 0, not true or false"),
        ({"status": "GONE"}, "customers.edges[1].node.status", "not one of ACTIVE, DELETED, PASSIVE"),
        ({"dateModified": "2026-11-28T04:38:00"}, "customers.edges[1].node.dateModified", "UTC offset"),
        ({"dateModified": "yesterday"}, "customers.edges[1].node.dateModified", "says DateTime!"),
        ({"segmentCodes": None}, "customers.edges[1].node.segmentCodes", "is null, but the schema says [String!]!"),
        ({"segmentCodes": "B2B"}, "customers.edges[1].node.segmentCodes", "is a string 'B2B', not a list"),
        ({"segmentCodes": ["B2B", None]}, "customers.edges[1].node.segmentCodes[1]", "is null"),
        (
            {"addresses": [{**CUSTOMER["addresses"][0], "city": None}]},  # type: ignore[dict-item]
            "customers.edges[1].node.addresses[0].city",
            "is null, but the schema says String!",
        ),
        ({"contacts": [{}]}, "customers.edges[1].node.contacts[0].contactId", "is missing"),
    ],
)
def test_each_break_is_named_by_its_path(changes, path, expected):
    problem = check_data(QUERY, page(CUSTOMER, broken(**changes)))
    assert problem is not None
    assert problem.describe().startswith(path + " ") and expected in problem.describe(), problem.describe()
    assert locate(problem, page(CUSTOMER, broken(**changes)), "customerNumber", "after-x") == ("C10001", "c1")


@pytest.mark.parametrize(
    ("data", "described"),
    [
        (None, "is null, not an object"),
        ([], "is a list, not an object"),
        ({"customers": None}, "customers is null, but the schema says CustomerConnection!"),
        ({"customers": {"edges": []}}, "customers.pageInfo is missing"),
        ({"customers": {"edges": [{"node": CUSTOMER}], "pageInfo": {}}}, "customers.edges[0].cursor is missing"),
        ({"customers": {"edges": [], "pageInfo": {"hasNextPage": "no", "endCursor": None}}}, "hasNextPage is a"),
    ],
)
def test_the_connection_itself_is_checked(data, described):
    problem = check_data(QUERY, data)
    assert problem is not None and described in problem.describe(), problem and problem.describe()


def test_a_decimal_is_judged_by_its_wire_type_and_its_text_left_to_the_store():
    """ "4,15" is a string, as the scalar travels: the page is taken and the store's blocking rule judges it."""
    assert check_data(QUERY, page(CUSTOMER, {**CUSTOMER, "creditLimit": "4,15"})) is None


def test_a_nullable_field_may_be_null_and_extra_fields_are_ignored():
    node = broken(businessId=None, creditLimit=None, unexpected="ignored")
    assert check_data(QUERY, page(node)) is None
