"""Accounts and logins of the web shop: Sonet's customers and segments as the shop sees them.

Pure (no Dagster). `build_accounts` takes the latest customer and segment records in the contract's
GraphQL shape (as `Snapshot.records` yields them) and answers JSON-ready accounts and logins, the
e-mail conflicts that withhold logins, and counts for the assets' metadata (docs/shop.md):

- An **account** per ACTIVE customer, its id the `customerNumber`. Its `customerTypes` come from its
  segments that exist and are ACTIVE; its price list is its own, else the first such segment's.
- A **login** per contact with a non-blank e-mail of an ACTIVE customer; the login is the e-mail
  trimmed and lower-cased. The same e-mail twice within one customer publishes one login (the lowest
  contactId, digit runs compared by value: C1-2 before C1-10). An e-mail held by contacts of two
  different customers is a **conflict**: none of its logins is published, nothing else is affected.

Odd data never raises: a missing or non-list list reads as empty, a blank or non-text e-mail as none,
a customer without a customerNumber is not published (counted with the hidden ones).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

ACTIVE = "ACTIVE"
COUNT_KEYS = (
    "accounts",
    "logins",
    "hidden_customers",  # customer records not published: not ACTIVE (or without a customerNumber)
    "contacts_without_email",  # contacts of published accounts without a usable e-mail
    "email_conflicts",
    "logins_withheld",  # logins a conflict keeps back: one per customer holding its e-mail
    "unknown_segments",  # published accounts carrying a segment code no ACTIVE segment has
)


@dataclass(frozen=True)
class EmailConflict:
    """An e-mail held by contacts of several customers: none of its logins is published."""

    email: str  # normalized: stripped, lower-cased
    customers: tuple[str, ...]  # customerNumbers, sorted
    contact_ids: tuple[str, ...]  # sorted


@dataclass(frozen=True)
class Accounts:
    """What `build_accounts` answers; `counts` always holds every key of `COUNT_KEYS`."""

    accounts: list[dict[str, Any]]  # JSON-ready, sorted by "accountId"
    logins: list[dict[str, Any]]  # JSON-ready, sorted by "login"
    conflicts: list[EmailConflict]  # sorted by email
    counts: dict[str, int]


def normalize_email(value: object) -> str | None:
    """The login an e-mail gives: trimmed and lower-cased; None for a blank or non-text value."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().lower()


def build_accounts(customers: Iterable[Mapping[str, Any]], segments: Iterable[Mapping[str, Any]]) -> Accounts:
    """The shop's accounts, logins and e-mail conflicts from the latest customers and segments."""
    known = _active_segments(segments)
    counts = dict.fromkeys(COUNT_KEYS, 0)
    latest: dict[str, Mapping[str, Any]] = {}  # one record per customerNumber, the last one read
    for customer in customers:
        number = _text(customer.get("customerNumber")) if isinstance(customer, Mapping) else None
        if number is None:
            counts["hidden_customers"] += 1
        else:
            latest[number] = customer

    accounts: list[dict[str, Any]] = []
    holders: dict[str, list[tuple[str, str, dict[str, Any]]]] = defaultdict(list)  # login -> (customer, contact, row)
    for number in sorted(latest):
        customer = latest[number]
        if customer.get("status") != ACTIVE:
            counts["hidden_customers"] += 1
            continue
        account = _account(number, customer, known)
        accounts.append(account)
        if any(code not in known for code in account["segmentCodes"]):
            counts["unknown_segments"] += 1
        for contact in _list(customer.get("contacts")):
            login = normalize_email(contact.get("email")) if isinstance(contact, Mapping) else None
            if login is None:
                counts["contacts_without_email"] += 1
                continue
            contact_id = _text(contact.get("contactId")) or ""
            row = {
                "login": login,
                "email": contact["email"],
                "accountId": number,
                "contactId": contact_id,
                "name": _str_or_none(contact.get("name")),
                "role": _str_or_none(contact.get("role")),
            }
            holders[login].append((number, contact_id, row))

    logins: list[dict[str, Any]] = []
    conflicts: list[EmailConflict] = []
    for login in sorted(holders):
        held = holders[login]
        owners = sorted({number for number, _, _ in held})
        if len(owners) > 1:
            conflicts.append(EmailConflict(login, tuple(owners), tuple(sorted(cid for _, cid, _ in held))))
            counts["logins_withheld"] += len(owners)
        else:
            logins.append(min(held, key=lambda h: (_natural(h[1]), h[1]))[2])
    counts.update(accounts=len(accounts), logins=len(logins), email_conflicts=len(conflicts))
    return Accounts(accounts=accounts, logins=logins, conflicts=conflicts, counts=counts)


def _active_segments(segments: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """The ACTIVE segments by code (codes compare exactly: `reseller-north` is not `RESELLER-NORTH`)."""
    latest: dict[str, Mapping[str, Any]] = {}
    for segment in segments:
        code = _text(segment.get("segmentCode")) if isinstance(segment, Mapping) else None
        if code is not None:
            latest[code] = segment
    return {code: segment for code, segment in latest.items() if segment.get("status") == ACTIVE}


def _account(number: str, customer: Mapping[str, Any], known: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """One customer as the shop's account (JSON-ready)."""
    codes = [code for code in _list(customer.get("segmentCodes")) if isinstance(code, str)]
    segments = [known[code] for code in codes if code in known]
    own_price_list = _text(customer.get("priceListCode"))
    segment_price_lists = (_text(segment.get("priceListCode")) for segment in segments)
    return {
        "accountId": number,
        "name": _str_or_none(customer.get("name")),
        "businessId": _str_or_none(customer.get("businessId")),
        "vatNumber": _str_or_none(customer.get("vatNumber")),
        "email": _str_or_none(customer.get("email")),
        "phone": _str_or_none(customer.get("phone")),
        "segmentCodes": codes,
        "customerTypes": sorted({t for s in segments if isinstance(t := s.get("customerType"), str)}),
        "priceListCode": own_price_list or next((p for p in segment_price_lists if p), None),
        "paymentTermsCode": _str_or_none(customer.get("paymentTermsCode")),
        "creditLimit": _decimal_text(customer.get("creditLimit")),
        "orderBlocked": _blocked(customer.get("orderBlocked")),
        "addresses": [dict(address) for address in _list(customer.get("addresses")) if isinstance(address, Mapping)],
    }


def _list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _text(value: object) -> str | None:
    """A non-blank text as it is; None for anything else."""
    return value if isinstance(value, str) and value.strip() else None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _decimal_text(value: object) -> str | None:
    """A contract Decimal as its string (the contract sends strings; a Decimal or int is written out)."""
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return str(value)
    return None


def _blocked(value: object) -> bool:
    """Sonet's orderBlocked as a bool; null is False, an odd value that will not say counts as blocked."""
    if value is None or isinstance(value, bool):
        return bool(value)
    try:
        return bool(value) if not isinstance(value, str) else value.strip().lower() not in ("false", "0", "")
    except (TypeError, ValueError):  # e.g. pandas.NA: the safe side
        return True


def _natural(text: str) -> tuple[Any, ...]:
    """Sort key comparing digit runs by value (no int(): a hostile 5,000-digit run must not raise)."""
    parts = re.split(r"(\d+)", text)
    return tuple((len(p.lstrip("0")), p.lstrip("0")) if i % 2 else p for i, p in enumerate(parts))
