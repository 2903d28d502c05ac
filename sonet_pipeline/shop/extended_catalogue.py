"""The catalogue with the tenant's extensions: its items through the `synced_record` extensions (then
built whole, one call with every item, never from the cache of unextended groups), its lines through
the `catalogue_line` extensions. Without extensions, exactly `IncrementalCatalogue.build`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sonet_pipeline.config.shop import ShopConfig, VariantStrategy
from sonet_pipeline.extensions.chains import TenantChains
from sonet_pipeline.extensions.records import extended_records, extends_records
from sonet_pipeline.shop.catalogue import build_catalogue
from sonet_pipeline.shop.catalogue_cache import Built, IncrementalCatalogue
from sonet_pipeline.shop.line_extensions import extended_lines
from sonet_pipeline.shop.publish import EncodedLines, jsonl
from sonet_pipeline.store import Snapshot


@dataclass(frozen=True)
class ExtendedCatalogue:
    built: Built
    #: What the extensions failed: items left out (`{entity, key, reason}`), lines withheld (`{sku, reason}`).
    failed: list[dict[str, Any]]


def build_extended_catalogue(
    builder: IncrementalCatalogue,
    snapshot: Snapshot,
    *,
    strategy: VariantStrategy,
    shop: ShopConfig,
    extensions: TenantChains | None,
) -> ExtendedCatalogue:
    """The catalogue to publish, and what the tenant's extensions failed."""
    failed: list[dict[str, Any]] = []
    if extends_records(extensions):
        items = extended_records(extensions, "items", snapshot.records("items"))
        whole = build_catalogue(items.records, strategy=strategy, shop=shop)
        lines = EncodedLines(jsonl(whole.products), len(whole.products))
        built = Built(lines, whole.conflicts, whole.counts, rebuilt_groups=len(whole.products), full=True)
        failed += items.failed
    else:
        built = builder.build(snapshot, strategy=strategy, shop=shop)
    lines, withheld = extended_lines(extensions, built.lines)
    return ExtendedCatalogue(replace(built, lines=lines), failed + withheld)
