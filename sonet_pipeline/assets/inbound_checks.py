"""The inbound assets' checks, evaluated on the store right after each entity's sync.

Blocking (bad data must not flow on to the shop model): unique keys, decimals that parse. Warnings,
named record by record, for what the shop model handles downstream: segment codes that do not
exist, models whose items disagree, negative prices or stock. Freshness is `freshness.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    MetadataValue,
)

from sonet_pipeline.assets.markdown_table import markdown_table
from sonet_pipeline.store import Store, quality

SAMPLE_ROWS = 20


@dataclass(frozen=True)
class Check:
    entity: str
    name: str
    blocking: bool
    description: str
    find: Callable[[quality.Source], list[dict]]


CHECKS = (
    Check("items", "unique_keys", True, "every itemCode once", lambda s: quality.duplicate_keys(s, "items")),
    Check(
        "items",
        "decimals_parse",
        True,
        "prices, VAT rates and stock are numbers",
        lambda s: quality.unparseable_decimals(s, "items"),
    ),
    Check(
        "items",
        "model_names_agree",
        False,
        "the items of one modelCode share its modelName",
        quality.model_name_disagreements,
    ),
    Check(
        "items",
        "variants_distinct",
        False,
        "no two items of one modelCode share variantAttributes",
        quality.shared_variant_attributes,
    ),
    Check(
        "items", "no_negative_values", False, "no negative listPrice or stockBalance", quality.negative_price_or_stock
    ),
    Check(
        "customers", "unique_keys", True, "every customerNumber once", lambda s: quality.duplicate_keys(s, "customers")
    ),
    Check(
        "customers",
        "decimals_parse",
        True,
        "credit limits are numbers",
        lambda s: quality.unparseable_decimals(s, "customers"),
    ),
    Check(
        "customers",
        "segment_codes_exist",
        False,
        "every segment code of a customer names a known segment",
        quality.unknown_segment_codes,
    ),
    Check("segments", "unique_keys", True, "every segmentCode once", lambda s: quality.duplicate_keys(s, "segments")),
    Check(
        "sales_orders", "unique_keys", True, "every messageId once", lambda s: quality.duplicate_keys(s, "sales_orders")
    ),
)


def _asset_key(tenant: str, entity_name: str) -> AssetKey:
    return AssetKey([tenant, "sonet", entity_name])


def check_specs(tenant: str) -> list[AssetCheckSpec]:
    return [
        AssetCheckSpec(
            check.name, asset=_asset_key(tenant, check.entity), blocking=check.blocking, description=check.description
        )
        for check in CHECKS
    ]


def check_keys(tenant: str) -> list[AssetCheckKey]:
    """The checks the sync step evaluates, for a run that selects them explicitly (no freshness checks)."""
    return [AssetCheckKey(asset_key=_asset_key(tenant, check.entity), name=check.name) for check in CHECKS]


def check_results(
    context: AssetExecutionContext, tenant: str, entity_name: str, store: Store
) -> Iterator[AssetCheckResult]:
    """Evaluate the selected checks of one entity; each failure names its records."""
    with quality.Tables(store) as tables:  # each table read once for all the entity's checks
        yield from _results(context, tenant, entity_name, tables)


def _results(
    context: AssetExecutionContext, tenant: str, entity_name: str, tables: quality.Tables
) -> Iterator[AssetCheckResult]:
    for check in CHECKS:
        key = AssetCheckKey(asset_key=_asset_key(tenant, check.entity), name=check.name)
        if check.entity != entity_name or key not in context.selected_asset_check_keys:
            continue
        offenders = check.find(tables)
        if offenders:
            context.log.warning("%s %s: check %s found %d record(s)", tenant, entity_name, check.name, len(offenders))
        yield AssetCheckResult(
            asset_key=key.asset_key,
            check_name=check.name,
            passed=not offenders,
            severity=AssetCheckSeverity.ERROR if check.blocking else AssetCheckSeverity.WARN,
            metadata={
                "offenders": MetadataValue.int(len(offenders)),
                "sample": MetadataValue.md(markdown_table(offenders[:SAMPLE_ROWS])),
            },
        )
