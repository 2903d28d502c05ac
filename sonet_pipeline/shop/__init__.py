"""The web shop's view of a tenant's Sonet records: products, accounts, logins, rights, order status.

Pure functions over the sync's snapshot and the outbox (no Dagster): `assets/shop.py` calls them and
`publish.py` writes what they answer for the shop.
"""
