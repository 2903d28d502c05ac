"""Who the web shop's buyers are and what each may do (pure, no Dagster).

- `accounts`: Sonet's customers and segments → the shop's accounts and logins, e-mail conflicts;
- `rules`: a tenant's rights rules → per login: may see prices, may order, order limit, the rule;
- `book`: the same rights indexed by account, contact and login, and the verdict on one order.

The shop publishes them (`assets/shop.py`); the intake and `orders enqueue` enforce them at the door
(`intake/rights_gate.py`), both from the tenant's published snapshot, so what a login is shown is
what it may do.
"""
