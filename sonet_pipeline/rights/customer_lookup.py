"""Which ACTIVE customer a registering buyer is, by one thing they know: the vendor's promise that
"customers are identified from the ERP before an account is created" (the intake's
`POST /tenants/{tenant}/customers/lookup`, `intake/customer_lookup.py`).

`CustomerIndex.build(customers, segments)` indexes the shop's accounts (`build_accounts`: the ACTIVE
customers, the last record of a number winning) by:

- `businessId` and `vatNumber`: trimmed, inner whitespace removed, case-insensitive
  (`fi 2345 6780` is `FI23456780`); punctuation is kept (`2345678-0` is not `23456780`);
- `email`: trimmed, case-insensitive, and matched against the customer's own e-mail **and every
  contact's**: the person who registers is most often a contact of the company in Sonet (the buyer
  who orders), not the company's general address, and either identifies the customer.

`find` answers the matching accounts: none (404), one (its accountId and name), or several distinct
customers (the caller answers 409 AMBIGUOUS and names none of them: a registration must not learn
which companies share an address or an id). One customer found through both its own e-mail and a
contact's is one match. Nothing else about the customer is ever answered. Pure: no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sonet_pipeline.rights.accounts import ACTIVE, build_accounts, normalize_email

LOOKUP_KEYS = ("businessId", "vatNumber", "email")


@dataclass(frozen=True)
class Match:
    """One customer a lookup found: all a registration may learn of it."""

    account_id: str
    name: str | None

    def as_json(self) -> dict[str, Any]:
        return {"accountId": self.account_id, "name": self.name}


def normalize(key: str, value: object) -> str | None:
    """A lookup value as it is compared (see the module's docstring); None when blank or not text."""
    if key == "email":
        return normalize_email(value)
    if not isinstance(value, str):
        return None
    compact = "".join(value.split()).upper()
    return compact or None


@dataclass(frozen=True)
class CustomerIndex:
    """A tenant's ACTIVE customers by normalized businessId, vatNumber and e-mail."""

    by_key: Mapping[str, Mapping[str, frozenset[str]]]  # key -> normalized value -> accountIds
    names: Mapping[str, str | None]  # accountId -> name

    @classmethod
    def build(cls, customers: Iterable[Mapping[str, Any]], segments: Iterable[Mapping[str, Any]]) -> CustomerIndex:
        customers = list(customers)
        accounts = build_accounts(customers, segments).accounts
        names = {account["accountId"]: account.get("name") for account in accounts}
        index: dict[str, dict[str, set[str]]] = {key: defaultdict(set) for key in LOOKUP_KEYS}
        for account in accounts:
            for key in LOOKUP_KEYS:
                value = normalize(key, account.get(key))
                if value is not None:
                    index[key][value].add(account["accountId"])
        for customer in customers:  # contacts' e-mails, of the published (ACTIVE) customers only
            number = customer.get("customerNumber") if isinstance(customer, Mapping) else None
            if number not in names or customer.get("status") != ACTIVE:
                continue
            for contact in customer.get("contacts") or ():
                email = normalize_email(contact.get("email")) if isinstance(contact, Mapping) else None
                if email is not None:
                    index["email"][email].add(str(number))
        frozen = {key: {value: frozenset(ids) for value, ids in found.items()} for key, found in index.items()}
        return cls(frozen, names)

    def find(self, key: str, value: object) -> list[Match]:
        """The ACTIVE customers whose `key` matches `value`, by accountId; none for an unknown key."""
        wanted = normalize(key, value)
        if wanted is None or key not in self.by_key:
            return []
        ids = self.by_key[key].get(wanted, frozenset())
        return [Match(account_id, self.names.get(account_id)) for account_id in sorted(ids)]
