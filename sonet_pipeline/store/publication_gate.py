"""The quality rules the inbound checks evaluate, and the gate in front of the snapshot: an entity whose
blocking rules find records is kept in the store (nothing synced is lost) but its snapshot file is not
published.

Every reader of a tenant's Sonet data (the shop, the sender's variant attributes, the intake's rights)
reads the snapshot, never the store, so a file held back keeps them at that entity's last state that
passed every blocking rule, while the entities that pass publish (a bad item price does not delay a
customer's order block). Before a first complete snapshot nothing is published until every entity
passes: a reader never meets an entity missing. The gate judges the whole store, not only the entities
a run synced: a run of the customers alone must not publish items that failed an earlier run. The
next sync whose entity passes publishes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sonet_pipeline.common.blobs import Blobs, FolderBlobs
from sonet_pipeline.sonet.entities import entities
from sonet_pipeline.store import quality
from sonet_pipeline.store.quality import Finding, Source
from sonet_pipeline.store.snapshot import Snapshot
from sonet_pipeline.store.sql_store import SqlStore


@dataclass(frozen=True)
class Rule:
    """A quality rule over one entity; a blocking one keeps its records out of the snapshot."""

    entity: str
    name: str
    blocking: bool
    description: str
    find: Callable[[Source], list[Finding]]

    @property
    def label(self) -> str:
        return f"{self.entity}/{self.name}"


def _duplicates(entity: str) -> Callable[[Source], list[Finding]]:
    return lambda source: quality.duplicate_keys(source, entity)


def _decimals(entity: str) -> Callable[[Source], list[Finding]]:
    return lambda source: quality.unparseable_decimals(source, entity)


RULES = (
    Rule("items", "unique_keys", True, "every itemCode once", _duplicates("items")),
    Rule("items", "decimals_parse", True, "prices, VAT rates and stock are numbers", _decimals("items")),
    Rule(
        "items",
        "model_names_agree",
        False,
        "the items of one modelCode share its modelName",
        quality.model_name_disagreements,
    ),
    Rule(
        "items",
        "variants_distinct",
        False,
        "no two items of one modelCode share variantAttributes",
        quality.shared_variant_attributes,
    ),
    Rule(
        "items", "no_negative_values", False, "no negative listPrice or stockBalance", quality.negative_price_or_stock
    ),
    Rule("customers", "unique_keys", True, "every customerNumber once", _duplicates("customers")),
    Rule("customers", "decimals_parse", True, "credit limits are numbers", _decimals("customers")),
    Rule(
        "customers",
        "segment_codes_exist",
        False,
        "every segment code of a customer names a known segment",
        quality.unknown_segment_codes,
    ),
    Rule("segments", "unique_keys", True, "every segmentCode once", _duplicates("segments")),
    Rule("sales_orders", "unique_keys", True, "every messageId once", _duplicates("sales_orders")),
    Rule("price_list_lines", "unique_keys", True, "every lineId once", _duplicates("price_list_lines")),
    Rule(
        "price_list_lines",
        "decimals_parse",
        True,
        "prices and quantity breaks are numbers",
        _decimals("price_list_lines"),
    ),
    Rule(
        "price_list_lines",
        "lines_price_clearly",
        False,
        "every ACTIVE line names a known item, and no two tie on list, item, quantity break and validity",
        quality.unclear_price_list_lines,
    ),
)
BLOCKING = tuple(rule for rule in RULES if rule.blocking)


@dataclass(frozen=True)
class Verdict:
    """What the blocking rules found, by rule label (`items/unique_keys`), and which entities' files moved."""

    findings: Mapping[str, list[Finding]]
    published: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.failing

    @property
    def failing(self) -> dict[str, list[Finding]]:
        """The blocking rules that found records, with them."""
        return {label: found for label, found in self.findings.items() if found}

    @property
    def failing_entities(self) -> tuple[str, ...]:
        """The entities whose blocking rules found records, in the contract's order."""
        failing = {rule.entity for rule in BLOCKING if self.findings.get(rule.label)}
        return tuple(name for name in entities() if name in failing)

    def held(self, entity: str) -> bool:
        """Whether the entity's published file stayed as it was."""
        return entity not in self.published

    def describe(self) -> str:
        """`items/unique_keys: 1 record(s), items/decimals_parse: 2 record(s)`, or `passed`."""
        if self.passed:
            return "passed"
        return ", ".join(f"{label}: {len(found)} record(s)" for label, found in self.failing.items())


def judge(findings: Mapping[str, list[Finding]]) -> Verdict:
    """The verdict on the blocking rules' findings (by label), before anything is published.

    Pure: a rule not in `findings` counts as not run, which `blocking_findings` never leaves out."""
    unknown = set(findings) - {rule.label for rule in BLOCKING}
    if unknown:
        raise ValueError(f"not blocking rules: {', '.join(sorted(unknown))}")
    return Verdict({label: list(found) for label, found in findings.items()})


def to_publish(verdict: Verdict, published: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The entities to publish now, given the manifest published so far (None: none yet): every entity
    when all pass; else those that pass, when the published manifest holds every failing one (it keeps
    its file); else none (a reader must never meet an entity missing). Pure."""
    names = tuple(entities())
    failing = verdict.failing_entities
    if not failing:
        return names
    kept = (published or {}).get("entities", {})
    if any(name not in kept for name in failing):
        return ()
    return tuple(name for name in names if name not in failing)


def blocking_findings(
    source: Source, rules: Iterable[Rule] = BLOCKING, *, unchanged: Iterable[str] = ()
) -> dict[str, list[Finding]]:
    """Every blocking rule over the store's tables (read only), by label. The rules of the entities
    `unchanged` (their records are those of their published file, which passed them) find nothing
    without reading: every blocking rule judges one entity's own records."""
    skipped = set(unchanged)
    return {rule.label: [] if rule.entity in skipped else rule.find(source) for rule in rules if rule.blocking}


def unchanged_since_published(store: SqlStore, published: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The entities whose records are exactly those of their published file (equal fingerprints).

    A file is published only when its entity passed the blocking rules, and a held entity's file keeps
    the records that passed, so an entity listed here passes them now too: an idle minute judges
    nothing (copying a PostgreSQL store's tables to judge them was 40 % of an idle tenant's sync)."""
    described = (published or {}).get("entities", {})
    return tuple(
        name
        for name in entities()
        if name in described and described[name].get("fingerprint") == store.fingerprint(name)
    )


def publish_if_passed(store: SqlStore, target: Blobs | Path, source: Source | None = None) -> Verdict:
    """Judge the store (through `source`, its `quality.Tables`, when given) and publish to `target` the
    entities `to_publish` chooses; the files of the others stay as they were there."""
    blobs = target if isinstance(target, Blobs) else FolderBlobs(target)
    published = Snapshot(blobs).manifest()
    unchanged = unchanged_since_published(store, published)
    verdict = judge(blocking_findings(store if source is None else source, unchanged=unchanged))
    chosen = to_publish(verdict, published)
    if not chosen:
        return verdict
    if set(chosen) <= set(unchanged):  # a sync that changed nothing: the files are these
        return Verdict(verdict.findings, published=chosen)
    kept = {name: published["entities"][name] for name in verdict.failing_entities} if published else None
    store.publish_snapshot(blobs, keep=kept)
    return Verdict(verdict.findings, published=chosen)
