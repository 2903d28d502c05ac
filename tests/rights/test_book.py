"""The verdict on one account order from a tenant's published rights (rights/book.py): which login
places it, whether its rule lets it order, and the order limit."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from sonet_pipeline.config.shop import ShopConfig
from sonet_pipeline.rights.book import NO_ACCOUNT, NO_LOGIN, NotAllowed, RightsBook
from tests.rights.samples import RIGHTS

RULES = ShopConfig.model_validate({"rights": RIGHTS}).rights
SEGMENTS = [{"segmentCode": "B2B-X", "customerType": "B2B", "status": "ACTIVE"}]


def customer(number: str, *contacts: tuple[str, str | None, str | None], **fields: Any) -> dict[str, Any]:
    listed = [{"contactId": cid, "email": email, "role": role} for cid, email, role in contacts]
    return {"customerNumber": number, "status": "ACTIVE", "segmentCodes": ["B2B-X"], "contacts": listed, **fields}


BOOK = RightsBook.build(
    [
        customer("C1", ("C1-1", "Boss@One.example", "ADMIN"), ("C1-2", "buyer@one.example", "BUYER")),
        customer("C1B", ("C1B-1", "viewer@one.example", "VIEWER")),
        customer("C2", ("C2-1", "admin@blocked.example", "ADMIN"), orderBlocked=True),
        customer("C3", ("C3-1", "old@gone.example", "ADMIN"), status="PASSIVE"),
        # one e-mail twice in one customer: one login (the lowest contactId), both contacts are it
        customer("C4", ("C4-2", "same@four.example", "ADMIN"), ("C4-10", " SAME@four.example ", "ADMIN")),
        # one e-mail at two customers: withheld, so neither may order with it
        customer("C5", ("C5-1", "shared@both.example", "ADMIN")),
        customer("C6", ("C6-1", "shared@both.example", "ADMIN")),
    ],
    SEGMENTS,
    RULES,
)


def judge(net: str = "50.00", **fields: Any) -> NotAllowed | None:
    return BOOK.judge({"kind": "account", **fields}, lambda: Decimal(net))


def test_a_login_its_rule_lets_order_places_the_order():
    """By contactId or by e-mail (trimmed, letters' case ignored), within its limit or without one."""
    assert judge(customerNumber="C1", contactId="C1-1", net="99999.00") is None
    assert judge(customerNumber="C1", email="  boss@one.EXAMPLE") is None
    assert judge(customerNumber="C1", contactId="C1-2", net="100.00") is None  # at the limit exactly
    assert judge(customerNumber="C4", contactId="C4-10") is None  # the same e-mail's login


def test_over_the_login_order_limit_is_not_allowed_naming_rule_and_limit():
    refused = judge(customerNumber="C1", contactId="C1-2", net="100.01")
    assert refused is not None
    assert (refused.rule, refused.limit, refused.field, refused.login) == (
        "buyers",
        "100.00",
        "lines",
        "buyer@one.example",
    )
    assert "100.01" in refused.message and "100.00" in refused.message


def test_a_rule_that_refuses_ordering_decides():
    refused = judge(customerNumber="C1B", contactId="C1B-1")
    assert refused is not None and (refused.rule, refused.field, refused.limit) == (
        "viewers",
        "customer.contactId",
        None,
    )


def test_a_blocked_customer_never_orders_whatever_the_rule():
    refused = judge(customerNumber="C2", contactId="C2-1")
    assert refused is not None
    assert (refused.rule, refused.field) == ("default", "customer.customerNumber")
    assert "order-blocked" in refused.message


@pytest.mark.parametrize("number", ["C3", "C404", "", " C1"])
def test_a_customer_without_a_published_account_is_not_allowed(number):
    """Not ACTIVE, unknown to the sync, blank or not exactly a customerNumber: no account, no order."""
    refused = judge(customerNumber=number, contactId="C3-1")
    assert refused is not None and (refused.rule, refused.field) == (NO_ACCOUNT, "customer.customerNumber")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "customer.contactId"),  # names no login at all
        ({"contactId": "C1-9"}, "customer.contactId"),  # no such contact
        ({"contactId": "C1B-1"}, "customer.contactId"),  # another customer's contact
        ({"contactId": "C1-9", "email": "boss@one.example"}, "customer.contactId"),  # a given contactId decides
        ({"email": "viewer@one.example"}, "customer.email"),  # another customer's login
        ({"email": "nobody@one.example"}, "customer.email"),
    ],
)
def test_an_order_must_name_a_published_login_of_its_customer(fields, field):
    refused = judge(customerNumber="C1", **fields)
    assert refused is not None and (refused.rule, refused.field) == (NO_LOGIN, field)


def test_an_email_two_customers_share_is_no_login_of_either():
    for number in ("C5", "C6"):
        refused = judge(customerNumber=number, contactId=f"{number}-1")
        assert refused is not None and refused.rule == NO_LOGIN


def test_the_net_total_is_asked_only_when_a_limit_applies():
    asked: list[bool] = []

    def net() -> Decimal:
        asked.append(True)
        return Decimal(1)

    assert BOOK.judge({"kind": "account", "customerNumber": "C1", "contactId": "C1-1"}, net) is None
    assert asked == []
