"""Accounts and logins from Sonet's customers and segments (docs/shop.md, "Accounts, logins, rights")."""

from __future__ import annotations

import json
from typing import Any

from sonet_pipeline.rights.accounts import COUNT_KEYS, EmailConflict, build_accounts, normalize_email
from sonet_pipeline.standin.seed_data import DANGLING_SEGMENT_CODES, generate_company
from tests.store.samples import BILLING_ADDRESS

STAMP = "2026-01-01T00:00:00.000Z"


def segment(code: str, kind: str = "B2B", price_list: str | None = None, status: str = "ACTIVE") -> dict[str, Any]:
    return {
        "segmentCode": code,
        "name": f"Segment {code}",
        "customerType": kind,
        "priceListCode": price_list,
        "status": status,
        "dateModified": STAMP,
    }


def contact(contact_id: str, email: str | None, role: str | None = "BUYER") -> dict[str, Any]:
    return {"contactId": contact_id, "name": f"Person {contact_id}", "email": email, "role": role}


def customer(
    number: str,
    *contacts: dict[str, Any],
    status: str = "ACTIVE",
    segments: tuple[str, ...] = ("B2B-A",),
    price_list: str | None = None,
    blocked: bool = False,
) -> dict[str, Any]:
    return {
        "customerNumber": number,
        "name": f"Customer {number} & <Co>",
        "businessId": "1234567-1",
        "vatNumber": "FI12345671",
        "email": f"info@{number.lower()}.example",
        "phone": "09 123 4567",
        "segmentCodes": list(segments),
        "priceListCode": price_list,
        "paymentTermsCode": "NET14",
        "creditLimit": "5000.00",
        "orderBlocked": blocked,
        "addresses": [BILLING_ADDRESS],
        "contacts": list(contacts),
        "status": status,
        "dateModified": STAMP,
    }


SEGMENTS = [
    segment("B2B-A", "B2B", "PL-A"),
    segment("B2B-NOLIST", "B2B", None),
    segment("RESELLER-R", "RESELLER", "PL-R"),
    segment("OLD", "RESELLER", "PL-OLD", status="DELETED"),
    segment("SLEEPY", "CONSUMER", "PL-SLEEPY", status="PASSIVE"),
]


def by_id(result) -> dict[str, dict[str, Any]]:
    return {account["accountId"]: account for account in result.accounts}


def test_account_carries_the_customer_as_the_shop_needs_it():
    """An ACTIVE customer is one JSON-ready account whose id is its customerNumber."""
    result = build_accounts([customer("C1", contact("C1-1", "Anna@C1.example"))], SEGMENTS)
    assert result.accounts == [
        {
            "accountId": "C1",
            "name": "Customer C1 & <Co>",
            "businessId": "1234567-1",
            "vatNumber": "FI12345671",
            "email": "info@c1.example",
            "phone": "09 123 4567",
            "segmentCodes": ["B2B-A"],
            "customerTypes": ["B2B"],
            "priceListCode": "PL-A",
            "paymentTermsCode": "NET14",
            "creditLimit": "5000.00",
            "orderBlocked": False,
            "addresses": [BILLING_ADDRESS],
        }
    ]
    assert result.logins == [
        {
            "login": "anna@c1.example",
            "email": "Anna@C1.example",
            "accountId": "C1",
            "contactId": "C1-1",
            "name": "Person C1-1",
            "role": "BUYER",
        }
    ]
    json.dumps([result.accounts, result.logins])


def test_customers_not_active_are_hidden_and_give_no_logins_nor_conflicts():
    """PASSIVE and DELETED customers publish nothing; their e-mails conflict with no one."""
    customers = [
        customer("C1", contact("C1-1", "shared@x.example")),
        customer("C2", contact("C2-1", "shared@x.example"), status="PASSIVE"),
        customer("C3", contact("C3-1", "SHARED@x.example"), status="DELETED"),
    ]
    result = build_accounts(customers, SEGMENTS)
    assert list(by_id(result)) == ["C1"]
    assert [login["login"] for login in result.logins] == ["shared@x.example"]
    assert result.conflicts == []
    assert result.counts["hidden_customers"] == 2


def test_price_list_is_the_customers_own_else_its_first_active_segments():
    """Own price list first; else the first ACTIVE segment having one; DELETED/PASSIVE ones never count."""
    customers = [
        customer("C1", segments=("B2B-A",), price_list="PL-C1"),
        customer("C2", segments=("B2B-NOLIST", "OLD", "RESELLER-R", "B2B-A")),
        customer("C3", segments=("OLD", "SLEEPY", "B2B-NOLIST")),
        customer("C4", segments=("B2B-A",), price_list="  "),
        customer("C5", segments=()),
    ]
    accounts = by_id(build_accounts(customers, SEGMENTS))
    assert {number: a["priceListCode"] for number, a in accounts.items()} == {
        "C1": "PL-C1",
        "C2": "PL-R",
        "C3": None,
        "C4": "PL-A",
        "C5": None,
    }


def test_customer_types_come_from_known_active_segments_only():
    """A DELETED or PASSIVE segment gives no type, nor does a dangling code; the codes stay as in Sonet."""
    customers = [
        customer("C1", segments=("RESELLER-R", "B2B-A", "B2B-NOLIST")),
        customer("C2", segments=("OLD", "SLEEPY")),
        customer("C3", segments=("B2B-VANHA", "b2b-a")),
        customer("C4", segments=("B2B-A",)),
    ]
    result = build_accounts(customers, SEGMENTS)
    accounts = by_id(result)
    assert accounts["C1"]["customerTypes"] == ["B2B", "RESELLER"]
    assert accounts["C2"]["customerTypes"] == []
    assert accounts["C3"]["customerTypes"] == []
    assert accounts["C3"]["segmentCodes"] == ["B2B-VANHA", "b2b-a"]
    assert result.counts["unknown_segments"] == 2  # C2 (only inactive segments) and C3 (dangling codes)


def test_email_held_by_two_customers_is_a_conflict_and_withholds_only_its_logins():
    """Case and blanks do not matter; the conflict's logins are withheld, the customers' other logins publish."""
    customers = [
        customer("C2", contact("C2-1", "  Bo.Bookkeeper@Tili.example "), contact("C2-2", "own@c2.example")),
        customer("C1", contact("C1-3", "bo.bookkeeper@tili.example", role="ADMIN"), contact("C1-1", "own@c1.example")),
    ]
    result = build_accounts(customers, SEGMENTS)
    assert result.conflicts == [
        EmailConflict(email="bo.bookkeeper@tili.example", customers=("C1", "C2"), contact_ids=("C1-3", "C2-1"))
    ]
    assert [login["login"] for login in result.logins] == ["own@c1.example", "own@c2.example"]
    assert list(by_id(result)) == ["C1", "C2"]
    assert result.counts["email_conflicts"] == 1
    assert result.counts["logins_withheld"] == 2


def test_same_email_twice_within_one_customer_publishes_the_lowest_contact():
    """One login per e-mail within a customer: the lowest contactId (C7-2 before C7-10), its e-mail as in Sonet."""
    customers = [customer("C7", contact("C7-10", "Duo@c7.example"), contact("C7-2", "duo@C7.example", role=None))]
    result = build_accounts(customers, SEGMENTS)
    assert result.conflicts == []
    [login] = result.logins
    assert (login["contactId"], login["email"], login["role"]) == ("C7-2", "duo@C7.example", None)


def test_a_conflict_names_every_contact_holding_the_email():
    """Twice in one customer and once in another: one conflict, two withheld logins, three contacts named."""
    customers = [
        customer("C1", contact("C1-1", "x@y.example"), contact("C1-2", "X@Y.example")),
        customer("C2", contact("C2-1", "x@y.example")),
    ]
    result = build_accounts(customers, SEGMENTS)
    assert result.conflicts == [EmailConflict("x@y.example", ("C1", "C2"), ("C1-1", "C1-2", "C2-1"))]
    assert result.logins == []
    assert result.counts["logins_withheld"] == 2


def test_counts_always_hold_every_key():
    """Empty input answers empty lists and zero counts under every documented key."""
    result = build_accounts([], [])
    assert (result.accounts, result.logins, result.conflicts) == ([], [], [])
    assert result.counts == dict.fromkeys(COUNT_KEYS, 0)
    assert set(COUNT_KEYS) == {
        "accounts",
        "logins",
        "hidden_customers",
        "contacts_without_email",
        "email_conflicts",
        "logins_withheld",
        "unknown_segments",
    }


def test_contacts_without_email_are_counted_not_published():
    customers = [customer("C1", contact("C1-1", None), contact("C1-2", "   "), contact("C1-3", "a@c1.example"))]
    result = build_accounts(customers, SEGMENTS)
    assert [login["contactId"] for login in result.logins] == ["C1-3"]
    assert result.counts["contacts_without_email"] == 2


def test_odd_data_never_raises():
    """Nulls, wrong types and hostile texts are read as well as they can be, never as an error."""
    hostile = 'Ääni & <b>"Oy"</b> \'; DROP TABLE 🥾 ' + "x" * 400
    odd = customer("C9", contact("C9-1", 42), contact(None, "Ok@Odd.example"), status="ACTIVE")  # type: ignore[arg-type]
    odd.update(name=hostile, segmentCodes=None, addresses=None, creditLimit=None, orderBlocked=None)
    odd["contacts"] += [None, "text", {"contactId": "9" * 5000, "email": "ok@odd.example"}]
    customers = [
        odd,
        {"customerNumber": None, "status": "ACTIVE"},
        {"customerNumber": "C8", "status": "ACTIVE", "contacts": [{"email": "c8@x.example"}]},
        {},
        None,
    ]
    segments = [{"segmentCode": "B2B-A", "customerType": None, "status": "ACTIVE"}, {"segmentCode": None}, None]
    result = build_accounts(customers, segments)  # type: ignore[arg-type]
    accounts = by_id(result)
    assert set(accounts) == {"C8", "C9"}
    assert accounts["C9"]["name"] == hostile
    assert (accounts["C9"]["segmentCodes"], accounts["C9"]["addresses"]) == ([], [])
    assert accounts["C9"]["orderBlocked"] is False
    assert accounts["C8"]["customerTypes"] == []
    assert [(login["login"], login["contactId"]) for login in result.logins] == [
        ("c8@x.example", ""),
        ("ok@odd.example", ""),
    ]
    assert result.counts["hidden_customers"] == 3
    assert result.counts["contacts_without_email"] == 3
    json.dumps([result.accounts, result.logins])


def test_normalize_email():
    assert normalize_email("  Matti@Example.FI\t") == "matti@example.fi"
    assert [normalize_email(v) for v in (None, "", "   ", 5)] == [None, None, None, None]


# --- the stand-in's data ---------------------------------------------------------------------------


def as_snapshot(record: dict[str, Any]) -> dict[str, Any]:
    """A stand-in record as `Snapshot.records` yields it: dateModified as the contract's string."""
    return {**record, "dateModified": record["dateModified"].isoformat(timespec="milliseconds").replace("+00:00", "Z")}


def standin() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    company = generate_company(7, items=4000)
    return [as_snapshot(r) for r in company.customers], [as_snapshot(r) for r in company.customer_segments]


def test_standin_customers():
    """C10042 logs in twice, C10666 is a blocked account, C10999 is absent, shared e-mails are conflicts."""
    customers, segments = standin()
    result = build_accounts(customers, segments)
    accounts = by_id(result)
    assert "C10999" not in accounts
    assert accounts["C10666"]["orderBlocked"] is True
    assert accounts["C10042"]["customerTypes"] == ["B2B"]
    assert [(lg["login"], lg["contactId"]) for lg in result.logins if lg["accountId"] == "C10042"] == [
        ("matti.makinen@makinen.example", "C10042-1"),
        ("osto@makinen.example", "C10042-2"),
    ]
    raw = {c["customerNumber"]: c for c in customers}
    assert result.conflicts, "the stand-in shares e-mails between customers"
    case_differs = 0
    for conflict in result.conflicts:
        assert len(conflict.customers) == 2 and all(raw[n]["status"] == "ACTIVE" for n in conflict.customers)
        held = {
            c["email"]
            for n in conflict.customers
            for c in raw[n]["contacts"]
            if normalize_email(c["email"]) == conflict.email
        }
        case_differs += len(held) > 1
    assert case_differs, "odd pairs differ in letter case"
    assert not {conflict.email for conflict in result.conflicts} & {lg["login"] for lg in result.logins}
    assert result.counts["logins_withheld"] == 2 * len(result.conflicts)
    dangling = {n for n, a in accounts.items() if set(a["segmentCodes"]) & set(DANGLING_SEGMENT_CODES)}
    assert dangling and result.counts["unknown_segments"] >= len(dangling)
    assert [lg["login"] for lg in result.logins] == sorted({lg["login"] for lg in result.logins})
    assert [a["accountId"] for a in result.accounts] == sorted(accounts)
    assert result.counts["accounts"] + result.counts["hidden_customers"] == len(customers)
