"""The inbound assets' checks, evaluated on the store after the sync, when its snapshot was published or held.

Blocking (bad data must not flow on to the shop model): unique keys, decimals that parse. A failing one
held the snapshot back (`store.publication_gate`), so the shop and the sender keep reading the last
state that passed; Dagster then fails the sync step, naming the check. Warnings,
named record by record, for what the shop model handles downstream: segment codes that do not
exist, models whose items disagree, negative prices or stock, price list lines of unknown items or
that tie. Freshness is `freshness.py`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    DagsterLogManager,
    MetadataValue,
)

from sonet_pipeline.assets.markdown_table import markdown_table
from sonet_pipeline.store import quality
from sonet_pipeline.store.publication_gate import RULES, Verdict

SAMPLE_ROWS = 20


#: The rules, one check each (`store.publication_gate`: the blocking ones also gate the snapshot).
CHECKS = RULES


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
    log: DagsterLogManager,
    tenant: str,
    entity_names: Collection[str],
    tables: quality.Tables,
    verdict: Verdict,
    selected: Collection[AssetCheckKey] | None = None,
) -> Iterator[AssetCheckResult]:
    """Evaluate the checks of the entities `entity_names` (those `selected`, or all); each failure names
    its records.

    The blocking checks report what the snapshot's gate found (`verdict`), so a check and the gate never
    disagree; each says whether its entity's snapshot file was held back, and by which rules."""
    held_by = MetadataValue.text(", ".join(verdict.failing) or "nothing")
    for check in CHECKS:
        key = AssetCheckKey(asset_key=_asset_key(tenant, check.entity), name=check.name)
        if check.entity not in entity_names or (selected is not None and key not in selected):
            continue
        offenders = verdict.findings[check.label] if check.blocking else check.find(tables)
        if offenders:
            log.warning("%s %s: check %s found %d record(s)", tenant, check.entity, check.name, len(offenders))
        yield AssetCheckResult(
            asset_key=key.asset_key,
            check_name=check.name,
            passed=not offenders,
            severity=AssetCheckSeverity.ERROR if check.blocking else AssetCheckSeverity.WARN,
            metadata={
                "offenders": MetadataValue.int(len(offenders)),
                "sample": MetadataValue.md(markdown_table(offenders[:SAMPLE_ROWS])),
                **(
                    {"snapshot_held": MetadataValue.bool(verdict.held(check.entity)), "held_by": held_by}
                    if check.blocking
                    else {}
                ),
            },
        )


def result_key(result: AssetCheckResult) -> AssetCheckKey:
    assert result.asset_key is not None and result.check_name is not None  # check_results names both
    return AssetCheckKey(asset_key=result.asset_key, name=result.check_name)


def as_evaluation(result: AssetCheckResult) -> AssetCheckEvaluation:
    """The same result as an event an op logs (the minute sync's shard steps have no check specs)."""
    assert result.asset_key is not None and result.check_name is not None
    return AssetCheckEvaluation(
        asset_key=result.asset_key,
        check_name=result.check_name,
        passed=result.passed,
        severity=result.severity,
        metadata=result.metadata,
        blocking=any(
            c.blocking for c in CHECKS if (c.entity, c.name) == (result.asset_key.path[-1], result.check_name)
        ),
    )
