"""Rights of the web shop's logins: may a login see prices, may it order, up to which total, and why.

Pure (no Dagster). `decide` applies a tenant's rules (`config/shop.py`) to one login: the first rule
whose conditions all hold wins. A condition given as a list matches when any of its values does:
`customer_types` against the account's customerTypes, `segments` against its segmentCodes (exactly),
`roles` against the contact's role without regard to letter case (`None` in the list matches a contact
without a role; a blank role is none), `order_blocked` against the account's blocked state.

Whatever the rule says, a customer Sonet blocks never may order: the decision then still names the
rule, refuses ordering, drops the order limit and carries `ORDER_BLOCKED_NOTE`. `rights_matrix`
decides every published login of an `Accounts`; `rights_summary` tells in Markdown what each rule
decided.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sonet_pipeline.config.shop import Conditions, RightsRule
from sonet_pipeline.extensions.chains import TenantChains
from sonet_pipeline.rights.accounts import Accounts
from sonet_pipeline.rights.extension_rule import NONE, Restriction, restrictions

ORDER_BLOCKED_NOTE = "order_blocked: Sonet refuses orders from this customer"
#: The decision when no rule matches (a validated `ShopConfig` always ends with a catch-all rule).
NO_RULE = "(no rule)"
NO_RULE_NOTE = "no_rule: no rights rule matched, so nothing is allowed"


@dataclass(frozen=True)
class Decision:
    """What one login may do, and the rule that decided it."""

    see_prices: bool
    can_order: bool
    order_limit: Decimal | None  # the largest order total (VAT excluded); None: no limit, or no ordering
    rule: str  # the rule that matched
    note: str | None  # why the decision differs from the rule's word, e.g. ORDER_BLOCKED_NOTE


def decide(
    rules: Sequence[RightsRule],
    *,
    customer_types: Collection[str],
    segments: Collection[str],
    role: str | None,
    order_blocked: bool,
) -> Decision:
    """The rights of a login: the first matching rule's, never ordering for a blocked customer."""
    blocked = bool(order_blocked)
    role_key = _role_key(role)
    rule = next((r for r in rules if _matches(r.when, customer_types, segments, role_key, blocked)), None)
    if rule is None:
        return Decision(see_prices=False, can_order=False, order_limit=None, rule=NO_RULE, note=NO_RULE_NOTE)
    can_order = rule.can_order and not blocked
    return Decision(
        see_prices=rule.see_prices,
        can_order=can_order,
        order_limit=rule.order_limit if can_order else None,
        rule=rule.rule,
        note=ORDER_BLOCKED_NOTE if blocked and rule.can_order else None,
    )


def rights_matrix(
    accounts: Accounts, rules: Sequence[RightsRule], extensions: TenantChains | None = None
) -> list[dict[str, Any]]:
    """One JSON-ready row per published login, sorted by login: its account, rights and deciding rule.
    The tenant's `rights` extensions (`extension_rule.py`) may take rights away, never add any."""
    by_id = {account.get("accountId"): account for account in accounts.accounts}
    facts: list[dict[str, Any]] = []
    for login in sorted(accounts.logins, key=lambda row: str(row.get("login"))):
        account = by_id.get(login.get("accountId"), {})
        facts.append(
            {
                "login": login.get("login"),
                "accountId": login.get("accountId"),
                "accountName": account.get("name"),
                "segments": _strings(account.get("segmentCodes")),
                "customerTypes": _strings(account.get("customerTypes")),
                "role": login.get("role") if isinstance(login.get("role"), str) else None,
                "orderBlocked": bool(account.get("orderBlocked")),
            }
        )
    rows = []
    for fact, taken in zip(facts, restrictions(extensions, [_payload(fact) for fact in facts]), strict=True):
        decision = decide(
            rules,
            customer_types=fact["customerTypes"],
            segments=fact["segments"],
            role=fact["role"],
            order_blocked=fact["orderBlocked"],
        )
        if taken != NONE:
            decision = _restricted(decision, taken)
        rows.append(
            {
                **fact,
                "canSeePrices": decision.see_prices,
                "canOrder": decision.can_order,
                "orderLimit": None if decision.order_limit is None else str(decision.order_limit),
                "rule": decision.rule,
                "note": decision.note,
            }
        )
    return rows


def _payload(fact: dict[str, Any]) -> dict[str, Any]:
    """A login's facts as the rights extensions get them (`extensions/schemas/rights.payload.json`)."""
    name = fact["accountName"]
    return {
        **fact,
        "login": str(fact["login"]),
        "accountId": str(fact["accountId"]),
        "accountName": name if isinstance(name, str) else None,
    }


def _restricted(decision: Decision, taken: Restriction) -> Decision:
    """The stricter of the tenant's decision and what the extensions took away."""
    can_order = decision.can_order and not taken.no_order
    limit = decision.order_limit
    if taken.limit is not None:
        limit = taken.limit if limit is None else min(limit, taken.limit)
    notes = "; ".join(note for note in (decision.note, *taken.notes) if note)
    return Decision(
        see_prices=decision.see_prices and not taken.no_prices,
        can_order=can_order,
        order_limit=limit if can_order else None,
        rule=decision.rule,
        note=notes or None,
    )


def rights_summary(rows: list[dict[str, Any]]) -> str:
    """A Markdown table: per rule (by name), how many logins it decided, may see prices, may order."""
    tally: dict[str, list[int]] = {}
    for row in rows:
        counts = tally.setdefault(str(row.get("rule")), [0, 0, 0])
        counts[0] += 1
        counts[1] += row.get("canSeePrices") is True
        counts[2] += row.get("canOrder") is True
    lines = ["| rule | logins | see prices | may order |", "|---|---:|---:|---:|"]
    lines += [f"| {_cell(rule)} | {n} | {prices} | {order} |" for rule, (n, prices, order) in sorted(tally.items())]
    totals = [sum(counts[i] for counts in tally.values()) for i in range(3)]
    lines.append(f"| **total** | {totals[0]} | {totals[1]} | {totals[2]} |")
    return "\n".join(lines)


def _matches(
    when: Conditions, customer_types: Collection[str], segments: Collection[str], role_key: str | None, blocked: bool
) -> bool:
    """Whether every condition given holds (an omitted one always does)."""
    if when.customer_types is not None and not any(t in customer_types for t in when.customer_types):
        return False
    if when.segments is not None and not any(s in segments for s in when.segments):
        return False
    if when.roles is not None and role_key not in {_role_key(r) for r in when.roles}:
        return False
    return when.order_blocked is None or when.order_blocked == blocked


def _role_key(role: object) -> str | None:
    """A role as compared: trimmed and case-folded; None for no role, a blank or a non-text one."""
    return role.strip().casefold() if isinstance(role, str) and role.strip() else None


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list | tuple) else []


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(text.replace("\\", "\\\\").replace("|", "\\|").split())
