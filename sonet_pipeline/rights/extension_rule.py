"""The tenant's `rights` extensions: extra rules evaluated before the tenant's own, which may only
restrict what a login may do, never allow what the tenant's rules refuse.

Each extension gets the facts of every login at once (`schemas/rights.payload.json`) and answers a
restriction per login (`schemas/rights.result.json`): `canSeePrices: false`, `canOrder: false`, an
`orderLimit`, a `note`; `{}` restricts nothing. The stricter of the restrictions and the tenant's
decision wins. A login whose restriction an extension failed to give (it raised, timed out, gave
something invalid) may neither see prices nor order, and its note names the extension and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sonet_pipeline.extensions.chains import TenantChains
from sonet_pipeline.extensions.extension import ExtensionFailed
from sonet_pipeline.extensions.points import RIGHTS


@dataclass(frozen=True)
class Restriction:
    """What the extensions take away from one login (all False/None: nothing)."""

    no_prices: bool = False
    no_order: bool = False
    limit: Decimal | None = None
    notes: tuple[str, ...] = ()


NONE = Restriction()


def restrictions(chains: TenantChains | None, logins: Sequence[dict[str, Any]]) -> list[Restriction]:
    """Per login of `logins` (the payload's facts), in order, what the tenant's rights extensions take away."""
    found = [NONE] * len(logins)
    if chains is None or not logins or not chains.has(RIGHTS):
        return found
    for name, outcomes in chains.apply_each(RIGHTS, logins):
        found = [_joined(kept, name, outcome) for kept, outcome in zip(found, outcomes, strict=True)]
    return found


def _joined(kept: Restriction, name: str, outcome: dict[str, Any] | ExtensionFailed) -> Restriction:
    if isinstance(outcome, ExtensionFailed):
        return Restriction(True, True, kept.limit, (*kept.notes, outcome.message))
    if not outcome:
        return kept
    limit = Decimal(outcome["orderLimit"]) if "orderLimit" in outcome else None
    lowest = limit if kept.limit is None else kept.limit if limit is None else min(kept.limit, limit)
    note = f"extension {name}: {outcome.get('note') or 'restricted'}"
    return replace(
        kept,
        no_prices=kept.no_prices or outcome.get("canSeePrices") is False,
        no_order=kept.no_order or outcome.get("canOrder") is False,
        limit=lowest,
        notes=(*kept.notes, note),
    )
