"""Rights rules for tests: viewers may not order, buyers up to 100.00, everyone else without a limit."""

from __future__ import annotations

from typing import Any

#: The `rights` of a shop config (rules in order, the last a catch-all).
RIGHTS: list[dict[str, Any]] = [
    {"rule": "viewers", "when": {"roles": ["VIEWER", None]}, "see_prices": True, "can_order": False},
    {"rule": "buyers", "when": {"roles": ["BUYER"]}, "see_prices": True, "can_order": True, "order_limit": "100.00"},
    {"rule": "default", "see_prices": True, "can_order": True},
]
