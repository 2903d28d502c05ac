"""What the sender needs of the synced catalogue: each item's own `variantAttributes`.

Read from the snapshot the sync publishes (never its DuckDB file), once per send run, so building
messages never conflicts with the sync's writes. An item the integration has not synced counts as
having no variant attributes (the contract's rule): the lookup answers None for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from sonet_pipeline.store import Snapshot

VariantAttributes = Callable[[str], list[tuple[str, str]] | None]


def variant_attributes(snapshot: Snapshot) -> VariantAttributes:
    frame = snapshot.frame("items")
    own = {
        code: [(pair["name"], pair["value"]) for pair in json.loads(text or "[]")]
        for code, text in zip(frame["itemCode"], frame["variantAttributes"], strict=True)
    }
    return own.get
