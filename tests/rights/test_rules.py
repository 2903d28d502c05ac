"""Rights per login from a tenant's rules (docs/shop.md, "Accounts, logins, rights")."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from sonet_pipeline.config import settings
from sonet_pipeline.config.shop import ShopConfig
from sonet_pipeline.config.tenants import load_tenants, tenant_by_name
from sonet_pipeline.rights.accounts import build_accounts
from sonet_pipeline.rights.rules import NO_RULE, ORDER_BLOCKED_NOTE, Decision, decide, rights_matrix, rights_summary
from sonet_pipeline.standin.seed_data import generate_company
from tests.store import samples


def rules(*entries: dict[str, Any]) -> tuple:
    """Rules as a tenant file gives them: validated by `ShopConfig`."""
    return ShopConfig.model_validate({"rights": list(entries)}).rights


RULES = rules(
    {"rule": "blocked", "when": {"order_blocked": True}, "see_prices": True, "can_order": False},
    {"rule": "viewers", "when": {"roles": ["viewer", None]}, "see_prices": True, "can_order": False},
    {
        "rule": "resellers",
        "when": {"customer_types": ["RESELLER"], "roles": ["ADMIN", "BUYER"]},
        "see_prices": True,
        "can_order": True,
        "order_limit": "5000.00",
    },
    {"rule": "builders", "when": {"segments": ["B2B-RAKENNUS", "B2B-SAHKO"]}, "see_prices": True, "can_order": True},
    {"rule": "default", "see_prices": False, "can_order": False},
)


def login(role: str | None = "BUYER", types=("B2B",), segments=("B2B-MUU",), blocked: bool = False) -> Decision:
    return decide(RULES, customer_types=types, segments=segments, role=role, order_blocked=blocked)


def test_first_matching_rule_wins():
    """A reseller in a builders' segment is decided by `resellers`, the earlier rule."""
    decision = login(types=("B2B", "RESELLER"), segments=("B2B-SAHKO",))
    assert decision == Decision(
        see_prices=True, can_order=True, order_limit=Decimal("5000.00"), rule="resellers", note=None
    )


def test_a_list_condition_matches_when_any_value_does():
    assert login(segments=("B2B-MUU", "B2B-SAHKO")).rule == "builders"
    assert login(segments=("B2B-RAKENNUS",)).rule == "builders"
    assert login(segments=("b2b-rakennus",)).rule == "default"  # segment codes compare exactly
    assert login(role="ADMIN", types=("RESELLER",)).rule == "resellers"


def test_roles_ignore_letter_case_and_none_matches_no_role():
    """`viewer` matches VIEWER; `None` matches a contact without a role, and a blank role is none."""
    assert login(role="VIEWER").rule == "viewers"
    assert login(role=" Viewer ").rule == "viewers"
    assert login(role=None).rule == "viewers"
    assert login(role="  ").rule == "viewers"
    assert login(role="buyer", types=("RESELLER",)).rule == "resellers"
    assert login(role="OWNER", types=("RESELLER",)).rule == "default"  # a role no rule lists


def test_customer_types_condition():
    assert login(types=("RESELLER",)).rule == "resellers"
    assert login(types=()).rule == "default"
    assert login(types=("CONSUMER",), role="BUYER").rule == "default"


def test_order_blocked_condition_matches_the_accounts_state():
    assert login(blocked=True, segments=("B2B-SAHKO",)).rule == "blocked"
    assert login(blocked=False, segments=("B2B-SAHKO",)).rule == "builders"


def test_blocked_customer_never_orders_even_when_its_rule_says_so():
    """Without a blocked rule, the matching rule allows ordering: the decision refuses, drops the limit, notes why."""
    no_blocked_rule = RULES[1:]
    decision = decide(no_blocked_rule, customer_types=["RESELLER"], segments=[], role="BUYER", order_blocked=True)
    assert decision == Decision(
        see_prices=True, can_order=False, order_limit=None, rule="resellers", note=ORDER_BLOCKED_NOTE
    )
    assert ORDER_BLOCKED_NOTE.startswith("order_blocked")
    # a rule that refuses ordering anyway needs no note
    assert login(role="VIEWER", blocked=True).note is None
    everyone = rules({"rule": "all", "see_prices": True, "can_order": True})
    assert not decide(everyone, customer_types=[], segments=[], role=None, order_blocked=True).can_order


def test_order_limit_belongs_to_the_rule_and_only_when_ordering():
    assert login(types=("RESELLER",)).order_limit == Decimal("5000.00")
    assert login(segments=("B2B-SAHKO",)).order_limit is None  # may order without a limit
    assert login(role="VIEWER").order_limit is None


def test_no_matching_rule_refuses_everything_without_raising():
    """A validated config always ends with a catch-all; bare rules without one still never raise."""
    decision = decide(RULES[:1], customer_types=[], segments=[], role=None, order_blocked=False)
    assert (decision.see_prices, decision.can_order, decision.rule) == (False, False, NO_RULE)
    assert decide([], customer_types=[], segments=[], role=None, order_blocked=False).rule == NO_RULE


SEGMENTS = [samples.segment("B2B-SAHKO"), samples.segment("RESELLER-N", customerType="RESELLER")]


def customer(number: str, segments: list[str], roles: list[str | None], blocked: bool = False) -> dict[str, Any]:
    """An ACTIVE customer named "<number> | Oy", one contact per role, `<number>-<i>@x.example`."""
    contacts = [
        {"contactId": f"{number}-{i}", "name": "N", "email": f"{number}-{i}@x.example", "role": role}
        for i, role in enumerate(roles, 1)
    ]
    return samples.customer(number, segments, name=f"{number} | Oy", orderBlocked=blocked, contacts=contacts)


def test_matrix_has_a_row_per_login_with_its_rule():
    accounts = build_accounts(
        [
            customer("C2", ["RESELLER-N"], ["ADMIN", None]),
            customer("C1", ["B2B-SAHKO"], ["BUYER"], blocked=True),
        ],
        SEGMENTS,
    )
    rows = rights_matrix(accounts, RULES)
    assert rows[0] == {
        "login": "c1-1@x.example",
        "accountId": "C1",
        "accountName": "C1 | Oy",
        "segments": ["B2B-SAHKO"],
        "customerTypes": ["B2B"],
        "role": "BUYER",
        "orderBlocked": True,
        "canSeePrices": True,
        "canOrder": False,
        "orderLimit": None,
        "rule": "blocked",
        "note": None,
    }
    assert [(r["login"], r["rule"], r["canOrder"], r["orderLimit"]) for r in rows] == [
        ("c1-1@x.example", "blocked", False, None),
        ("c2-1@x.example", "resellers", True, "5000.00"),
        ("c2-2@x.example", "viewers", False, None),
    ]
    json.dumps(rows)
    summary = rights_summary(rows)
    assert summary.splitlines() == [
        "| rule | logins | see prices | may order |",
        "|---|---:|---:|---:|",
        "| blocked | 1 | 1 | 0 |",
        "| resellers | 1 | 1 | 1 |",
        "| viewers | 1 | 1 | 0 |",
        "| **total** | 3 | 3 | 1 |",
    ]


def test_summary_escapes_rule_names_and_handles_no_rows():
    assert rights_summary([]).splitlines()[-1] == "| **total** | 0 | 0 | 0 |"
    row = {"rule": "a|b", "canSeePrices": True, "canOrder": None}
    assert "| a\\|b | 1 | 1 | 0 |" in rights_summary([row])


# --- the demo tenants over the stand-in's data ------------------------------------------------------


def as_snapshot(record: dict[str, Any]) -> dict[str, Any]:
    """A stand-in record as `Snapshot.records` yields it: dateModified as the contract's string."""
    return {**record, "dateModified": record["dateModified"].isoformat(timespec="milliseconds").replace("+00:00", "Z")}


@pytest.fixture
def demo(monkeypatch):
    monkeypatch.delenv(settings.TENANTS_ENV, raising=False)
    company = generate_company(7, items=4000)
    accounts = build_accounts(map(as_snapshot, company.customers), map(as_snapshot, company.customer_segments))
    return load_tenants(), accounts


@pytest.mark.parametrize("tenant_name", ["acme", "nordic"])
def test_demo_tenant_rules_over_standin_data(demo, tenant_name):
    """Every published login has a row naming one of the tenant's rules; C10666 never orders; C10999 is absent."""
    tenants, accounts = demo
    rules_ = tenant_by_name(tenants, tenant_name).shop.rights
    rows = rights_matrix(accounts, rules_)
    assert [r["login"] for r in rows] == [lg["login"] for lg in accounts.logins]
    assert {r["rule"] for r in rows} <= {rule.rule for rule in rules_}
    blocked = [r for r in rows if r["accountId"] == "C10666"]
    assert blocked and all(not r["canOrder"] and r["orderLimit"] is None for r in blocked)
    assert all(not r["canOrder"] for r in rows if r["orderBlocked"])
    assert not [r for r in rows if r["accountId"] == "C10999"]
    conflicted = {c.email for c in accounts.conflicts}
    assert conflicted and not conflicted & {r["login"] for r in rows}
    makinen = {r["login"]: r for r in rows if r["accountId"] == "C10042"}
    assert set(makinen) == {"matti.makinen@makinen.example", "osto@makinen.example"}
    assert all(r["canOrder"] and r["orderLimit"] is None for r in makinen.values())
    summary = rights_summary(rows)
    assert f"| **total** | {len(rows)} |" in summary


def test_demo_acme_decides_by_its_rules(demo):
    tenants, accounts = demo
    rows = rights_matrix(accounts, tenant_by_name(tenants, "acme").shop.rights)
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_rule.setdefault(row["rule"], []).append(row)
    assert {r["accountId"] for r in by_rule["blocked-see-only"]} >= {"C10666"}
    assert all(r["orderBlocked"] for r in by_rule["blocked-see-only"])
    assert all((r["role"] or "").strip().upper() in ("", "VIEWER") for r in by_rule["viewers"])
    assert by_rule["resellers"] and all(r["orderLimit"] == "20000.00" for r in by_rule["resellers"])
    assert {r["rule"] for r in rows if r["accountId"] == "C10042"} == {"contractors"}
    assert all(not r["canSeePrices"] and not r["canOrder"] for r in by_rule["default"])


def test_demo_nordic_notes_the_blocked_customer(demo):
    """nordic has no blocked rule: C10666 falls to `default`, which allows ordering, so the note says why not."""
    tenants, accounts = demo
    rows = rights_matrix(accounts, tenant_by_name(tenants, "nordic").shop.rights)
    [kari] = [r for r in rows if r["accountId"] == "C10666"]
    assert (kari["rule"], kari["canOrder"], kari["note"]) == ("default", False, ORDER_BLOCKED_NOTE)
    consumers = [r for r in rows if "CONSUMER" in r["customerTypes"]]
    assert consumers and {r["rule"] for r in consumers} == {"consumers-see-only"}
