"""The `rights` extension point: extra rules before the tenant's, which may only restrict.

With the sample partner package: `acme_trainees_may_not_order` takes ordering from trainees whatever
the tenant's rule says; an extension cannot grant what the rules refuse; one that fails denies the
logins it was given (fail closed), named in their note; the intake's book decides alike.
"""

from __future__ import annotations

from typing import Any

from sonet_pipeline.extensions.chains import TenantChains
from sonet_pipeline.extensions.extension import ExtensionSpec
from sonet_pipeline.extensions.points import RIGHTS
from sonet_pipeline.rights.accounts import build_accounts
from sonet_pipeline.rights.book import RightsBook
from sonet_pipeline.rights.extension_rule import restrictions
from sonet_pipeline.rights.rules import rights_matrix
from tests.extensions.test_runner import login_facts
from tests.rights.test_rules import RULES, SEGMENTS, customer, rules

CUSTOMERS = [customer("C2", ["RESELLER-N"], ["ADMIN", "trainee", None]), customer("C3", ["B2B-SAHKO"], ["BUYER"])]


def chains(*names: str) -> TenantChains:
    return TenantChains("acme", [ExtensionSpec("acme", RIGHTS, name, "python", 5) for name in names])


def matrix(extensions: TenantChains | None, rule_set=RULES) -> dict[str, dict[str, Any]]:
    accounts = build_accounts(CUSTOMERS, SEGMENTS)
    return {row["login"]: row for row in rights_matrix(accounts, rule_set, extensions)}


ALL_MAY_ORDER = rules({"rule": "everyone", "see_prices": True, "can_order": True, "order_limit": "900"})


def test_an_extension_takes_ordering_from_a_trainee_before_the_tenants_rules(partner_extensions):
    without, extended = matrix(None, ALL_MAY_ORDER), matrix(chains("acme_trainees_may_not_order"), ALL_MAY_ORDER)
    assert without["c2-2@x.example"]["canOrder"] is True
    trainee = extended["c2-2@x.example"]
    assert (trainee["canOrder"], trainee["orderLimit"], trainee["canSeePrices"]) == (False, None, True)
    assert trainee["rule"] == "everyone"
    assert trainee["note"] == "extension acme_trainees_may_not_order: Acme: trainees do not order"
    others = {login: row for login, row in extended.items() if login != "c2-2@x.example"}
    assert others == {login: without[login] for login in others}, "the other logins as the rules decide"


def test_no_restriction_changes_nothing(partner_extensions):
    assert matrix(chains("acme_no_restriction")) == matrix(None)


def test_an_extension_cannot_grant_what_the_rules_refuse(partner_extensions):
    """`acme_grants_rights` answers canOrder: true; the point refuses it, and the login is denied."""
    rows = matrix(chains("acme_grants_rights"))
    assert {row["canOrder"] for row in rows.values()} == {False}
    assert {row["canSeePrices"] for row in rows.values()} == {False}
    assert all(
        "extension acme_grants_rights: returned a record its point refuses" in row["note"] for row in rows.values()
    )


def test_a_failing_extension_denies_its_logins_named(partner_extensions):
    rows = matrix(chains("acme_raises"))
    assert {(row["canOrder"], row["canSeePrices"]) for row in rows.values()} == {(False, False)}
    assert rows["c3-1@x.example"]["note"] == "extension acme_raises: raised RuntimeError: the partner's service is down"


def test_restrictions_combine_the_strictest():
    """Each extension sees the same facts; limits take the lowest, a refusal from any one holds."""
    facts = [login_facts("a")]

    class Two(TenantChains):
        def __init__(self) -> None:
            super().__init__("acme", [])

        def has(self, point: str) -> bool:
            return True

        def apply_each(self, point, batch):
            return [("x", [{"orderLimit": "500"}]), ("y", [{"orderLimit": "200.5", "canSeePrices": False}])]

    (taken,) = restrictions(Two(), facts)
    assert (str(taken.limit), taken.no_prices, taken.no_order) == ("200.5", True, False)


def test_the_intakes_book_applies_the_extensions_too(partner_extensions):
    book = RightsBook.build(CUSTOMERS, SEGMENTS, ALL_MAY_ORDER, chains("acme_trainees_may_not_order"))
    assert book.rights["c2-2@x.example"]["canOrder"] is False
    assert book.rights["c2-1@x.example"]["canOrder"] is True
