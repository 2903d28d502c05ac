"""Outbox -> Sonet: the sender that releases SalesOrder messages, and reconcile against Sonet's list."""
