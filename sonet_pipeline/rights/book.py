"""May this login place this order? A tenant's published rights, indexed for one verdict per order.

`RightsBook.build(customers, segments, rules, extensions)` makes exactly what the shop publishes
(`build_accounts`, then `rights_matrix` with the tenant's `rights` extensions) and indexes it by
account, by contact and by login. `judge` answers None when an account order may be placed, else a
`NotAllowed` naming the rule that decided, the limit when the limit decided, and the order's field at
fault. In order:

1. `no_account`: `customer.customerNumber` has no published account (unknown to the last sync, not
   ACTIVE, deleted): the shop shows no login of it, so none may order for it.
2. `no_login`: the order must name the login that places it, by `customer.contactId` (a contact of
   that customer whose e-mail is a published login), else by `customer.email` (a published login of
   that account; compared trimmed and case-folded like logins). None, an unknown one, or one whose
   e-mail two customers share (withheld) is refused. A given contactId decides even when an e-mail
   is given too (Sonet receives the ContactId).
3. the login's rights rule: `can_order` false (a rule says so, or Sonet blocks the customer:
   the message then says `order_blocked`).
4. the same rule's `order_limit`: the order's net total (VAT excluded, as the SalesOrder's `Net`) is
   over it.

Guest orders are the tenant's setting, not the book's (`intake/rights_gate.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sonet_pipeline.config.shop import RightsRule
from sonet_pipeline.extensions.chains import TenantChains
from sonet_pipeline.extensions.records import extended_records
from sonet_pipeline.rights.accounts import ACTIVE, build_accounts, normalize_email
from sonet_pipeline.rights.rules import ORDER_BLOCKED_NOTE, rights_matrix

NO_ACCOUNT = "no_account"
NO_LOGIN = "no_login"


@dataclass(frozen=True)
class NotAllowed:
    """Why an order may not be placed: the rule that decided and, when the limit decided, the limit."""

    rule: str
    message: str
    field: str | None
    limit: str | None = None
    login: str | None = None


@dataclass(frozen=True)
class RightsBook:
    """A tenant's published rights: per login its rights row (as `rights.jsonl` holds it)."""

    accounts: frozenset[str]  # published accountIds (customerNumbers)
    rights: Mapping[str, Mapping[str, Any]]  # login -> its `rights_matrix` row
    contacts: Mapping[tuple[str, str], str]  # (accountId, contactId) -> login

    @classmethod
    def build(
        cls,
        customers: Iterable[Mapping[str, Any]],
        segments: Iterable[Mapping[str, Any]],
        rules: Sequence[RightsRule],
        extensions: TenantChains | None = None,
    ) -> RightsBook:
        # The records as the shop's model reads them: through the tenant's `synced_record` extensions.
        customers = list(extended_records(extensions, "customers", customers).records)
        segments = extended_records(extensions, "segments", segments).records
        accounts = build_accounts(customers, segments)
        rights = {str(row["login"]): row for row in rights_matrix(accounts, rules, extensions)}
        contacts: dict[tuple[str, str], str] = {}
        for customer in customers:  # the last record of a number wins, as in `build_accounts`
            number = customer.get("customerNumber") if isinstance(customer, Mapping) else None
            if not isinstance(number, str) or customer.get("status") != ACTIVE:
                continue
            for contact in customer.get("contacts") or ():
                if not isinstance(contact, Mapping) or not isinstance(contact.get("contactId"), str):
                    continue
                login = normalize_email(contact.get("email"))
                if login is not None and rights.get(login, {}).get("accountId") == number:
                    contacts[(number, contact["contactId"])] = login
        return cls(frozenset(a["accountId"] for a in accounts.accounts), rights, contacts)

    def judge(self, customer: Mapping[str, Any], net: Callable[[], Decimal]) -> NotAllowed | None:
        """None when this account order may be placed (`customer` of a schema-valid order; `net` its
        net total, asked only when a limit applies); else why not."""
        number = str(customer.get("customerNumber", ""))
        if number not in self.accounts:
            message = (
                f"customer {number[:40]!r} has no account in the shop (not in the last sync, not ACTIVE, "
                "or deleted in Sonet), so no login may order for it"
            )
            return NotAllowed(NO_ACCOUNT, message, "customer.customerNumber")
        login, field = self._login(number, customer)
        if login is None:
            return NotAllowed(NO_LOGIN, self._no_login_message(number, customer, field), field)
        row = self.rights[login]
        rule = str(row.get("rule"))
        if not row.get("canOrder"):
            if row.get("note") == ORDER_BLOCKED_NOTE:
                message = f"customer {number!r} is order-blocked in Sonet: no login of it may order"
                return NotAllowed(rule, message, "customer.customerNumber", login=login)
            message = f"login {login!r} of customer {number!r} may not order (rights rule {rule!r})"
            return NotAllowed(rule, message, field, login=login)
        limit = row.get("orderLimit")
        if limit is not None and (total := net()) > Decimal(limit):
            message = (
                f"the order's net total {total} is over the order limit {limit} of login {login!r} "
                f"(rights rule {rule!r})"
            )
            return NotAllowed(rule, message, "lines", limit=str(limit), login=login)
        return None

    def _login(self, number: str, customer: Mapping[str, Any]) -> tuple[str | None, str]:
        """The published login the order names, and the field that names it (or should)."""
        contact_id = customer.get("contactId")
        if isinstance(contact_id, str):
            return self.contacts.get((number, contact_id)), "customer.contactId"
        email = normalize_email(customer.get("email"))
        if email is not None:
            held = self.rights.get(email)
            return (email if held is not None and held.get("accountId") == number else None), "customer.email"
        return None, "customer.contactId"

    @staticmethod
    def _no_login_message(number: str, customer: Mapping[str, Any], field: str) -> str:
        if field == "customer.email":
            shown = str(customer.get("email"))[:80]
            return f"customer.email {shown!r} is not a login of customer {number!r} in the shop"
        if isinstance(customer.get("contactId"), str):
            shown = str(customer["contactId"])[:40]
            return f"customer.contactId {shown!r} is not a contact of customer {number!r} with a login in the shop"
        return (
            f"the order names no login of customer {number!r}: give customer.contactId (or customer.email) "
            "of the login that places it"
        )
