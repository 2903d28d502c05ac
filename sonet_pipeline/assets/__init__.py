"""Thin Dagster assets and their checks, one module per flow: inbound (the sync), orders (the send), shop."""
