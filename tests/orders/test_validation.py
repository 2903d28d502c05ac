"""Intake validation: the web-shop order's JSON schema (formats checked) and the intake's semantic rules."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sonet_pipeline.orders import OrderProblem, validate_order
from tests.orders.samples import b2b_order, guest_order


def problems_after(change, order: dict[str, Any] | None = None) -> list[OrderProblem]:
    order = b2b_order() if order is None else order
    change(order)
    return validate_order(order)


def test_contract_examples_are_accepted():
    """The contract's example order and a plain guest order have no problems, and are not modified."""
    for order in (b2b_order(), guest_order()):
        before = copy.deepcopy(order)
        assert validate_order(order) == []
        assert order == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda o: o["lines"][1].update(quantity=12), "lines[1].quantity"),
        (lambda o: o["lines"][0].update(quantity="1,5"), "lines[0].quantity"),
        (lambda o: o["lines"][0].update(unitPrice="59.90001"), "lines[0].unitPrice"),
        (lambda o: o["lines"][0].update(discountPercent="1000"), "lines[0].discountPercent"),
        (lambda o: o["lines"][0].update(sku=""), "lines[0].sku"),
        (lambda o: o.pop("currency"), "currency"),
        (lambda o: o.update(currency="EUR\n"), "currency"),  # `$` in a pattern is the end of the string
        (lambda o: o["deliveryAddress"].pop("postalCode"), "deliveryAddress.postalCode"),
        (lambda o: o["billingAddress"].update(floor="3"), "billingAddress.floor"),
        (lambda o: o.update(note="x"), "note"),
        (lambda o: o["customer"].pop("customerNumber"), "customer.customerNumber"),
        (lambda o: o["customer"].update(kind="guest", email=None), "customer.email"),
        (lambda o: o["customer"].update(kind="supplier"), "customer.kind"),
        (lambda o: o.update(lines=[]), "lines"),
        (lambda o: o["lines"][1].update(variant={"Size (EU).x": "4" * 81}), 'lines[1].variant["Size (EU).x"]'),
        (lambda o: o["lines"][1].update(variant={str(n): "x" for n in range(11)}), "lines[1].variant"),
        (lambda o: o.update(comment="c" * 4001), "comment"),
    ],
)
def test_schema_errors_name_the_field(change, field: str):
    """The first schema error is reported with code SCHEMA and the JSON path of the offending value."""
    problems = problems_after(change)
    assert len(problems) == 1
    assert (problems[0].code, problems[0].field) == ("SCHEMA", field)
    assert problems[0].message.startswith(field)


def test_missing_value_is_named_as_required():
    """A missing required value names the missing key, not its parent object."""
    [problem] = problems_after(lambda o: o["lines"][0].pop("vatRate"))
    assert problem == OrderProblem("SCHEMA", "lines[0].vatRate is required", "lines[0].vatRate")


@pytest.mark.parametrize("value", [[], "order", 42, None])
def test_an_order_that_is_not_an_object_has_no_field(value: Any):
    """Something other than a JSON object is refused as a whole (field None)."""
    [problem] = validate_order(value)
    assert problem.code == "SCHEMA" and problem.field is None


@pytest.mark.parametrize(
    "created_at",
    [
        "yesterday",
        "2026-02-30T10:00:00Z",  # no such day
        "2025-02-29T10:00:00Z",  # not a leap year
        "2026-11-28T04:38:00",  # no offset
        "2026-11-28 04:38:00Z",
        "2026-11-28T24:00:00Z",
        "2026-11-28T04:61:00Z",
        "2026-11-28",
    ],
)
def test_created_at_must_be_a_real_date_time_with_an_offset(created_at: str):
    """`format: date-time` is checked: a non-date, an impossible date or a missing offset is refused."""
    [problem] = problems_after(lambda o: o.update(createdAt=created_at))
    assert (problem.code, problem.field) == ("SCHEMA", "createdAt")
    assert "RFC 3339" in problem.message


@pytest.mark.parametrize(
    "created_at",
    [
        "2026-11-28T04:38:00Z",
        "2024-02-29T23:59:59.123456789-09:30",
        "2026-11-28t04:38:00z",
        "2026-11-28T04:38:00+15:00",
    ],
)
def test_rfc3339_date_times_are_accepted(created_at: str):
    """RFC 3339 allows lower-case t and z and any offset below 24 h; whether Sonet takes them is the mapper's call."""
    assert problems_after(lambda o: o.update(createdAt=created_at)) == []


@pytest.mark.parametrize("created_at", ["2026-11-28T04:38:00+0200", "٢٠٢٦-11-28T04:38:00Z", "2026-11-28T04:38:00.٣Z"])
def test_what_fastjsonschema_lets_through_but_rfc3339_does_not_is_refused(created_at: str):
    """An offset without colon or non-ASCII digits are not RFC 3339: refused as INVALID, naming createdAt."""
    [problem] = problems_after(lambda o: o.update(createdAt=created_at))
    assert (problem.code, problem.field) == ("INVALID", "createdAt")


def test_account_order_needs_a_customer_number():
    """An account order with a blank customerNumber is refused (INVALID, customer.customerNumber)."""
    [problem] = problems_after(lambda o: o["customer"].update(customerNumber=" "))
    assert (problem.code, problem.field) == ("INVALID", "customer.customerNumber")
    assert problem.message == "customer.customerNumber must not be blank in an account order"


def test_guest_order_needs_a_name_and_an_email_and_every_rule_is_reported():
    """A guest order needs a name and an e-mail that are not blank; all semantic problems are listed."""

    def change(order: dict[str, Any]) -> None:
        order["customer"].update(name="", email="  ")
        order["createdAt"] = "2026-11-28T04:39:12-0300"

    problems = problems_after(change, guest_order())
    assert [(p.code, p.field) for p in problems] == [
        ("INVALID", "customer.name"),
        ("INVALID", "customer.email"),
        ("INVALID", "createdAt"),
    ]


def test_guest_without_email_is_a_schema_error():
    """The schema's own rule (a guest has name and email) is reported with the missing key."""
    order = guest_order()
    del order["customer"]["email"]
    [problem] = validate_order(order)
    assert problem == OrderProblem("SCHEMA", "customer.email is required", "customer.email")


def test_values_the_schema_allows_but_sonet_does_not_pass_intake():
    """A quantity of 0 or a method code with a space is valid at intake: the mapper marks it UNMAPPABLE."""

    def change(order: dict[str, Any]) -> None:
        order["lines"][0]["quantity"] = "0"
        order["deliveryMethod"] = "POSTI B2B"

    assert problems_after(change) == []
