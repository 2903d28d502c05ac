"""The tenant's `synced_record` extensions: the synced items, customers and segments as the shop's
model reads them (field mapping, computed attributes), one call per entity and publish (the shop),
or per rebuild of the rights book (the intake).

A record keeps its key (`itemCode`, `customerNumber`, `segmentCode`). A record an extension failed is
left out of the shop's view (withheld, like a record the model cannot use), reported with the
extension's name and reason; the others flow on. Without extensions at the point, the records pass
as they are, unread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sonet_pipeline.extensions.chains import TenantChains
from sonet_pipeline.extensions.extension import ExtensionFailed
from sonet_pipeline.extensions.points import SYNCED_RECORD

#: The entities the shop's model reads, with the key a record keeps.
KEYS = {"items": "itemCode", "customers": "customerNumber", "segments": "segmentCode"}


@dataclass
class ExtendedRecords:
    """The records the model reads, and those an extension failed: `{entity, key, reason}` each."""

    records: Iterable[Mapping[str, Any]]
    failed: list[dict[str, Any]] = field(default_factory=list)


def extends_records(chains: TenantChains | None) -> bool:
    """Whether the tenant has `synced_record` extensions (the shop then reads whole entities)."""
    return chains is not None and chains.has(SYNCED_RECORD)


def extended_records(chains: TenantChains | None, entity: str, records: Iterable[Mapping[str, Any]]) -> ExtendedRecords:
    """`records` of `entity` through the tenant's `synced_record` extensions."""
    if chains is None or not extends_records(chains):
        return ExtendedRecords(records)
    given = list(records)
    key = KEYS[entity]

    def same_key(after: dict[str, Any], before: dict[str, Any]) -> str | None:
        was, now = before["record"].get(key), after["record"].get(key)
        return None if was == now else f"changed the record's {key} ({was!r} to {now!r})"

    outcomes = chains.apply(SYNCED_RECORD, [{"entity": entity, "record": dict(r)} for r in given], check=same_key)
    kept: list[Mapping[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for record, outcome in zip(given, outcomes, strict=True):
        if isinstance(outcome, ExtensionFailed):
            failed.append({"entity": entity, "key": record.get(key), "reason": outcome.message})
        else:
            kept.append(outcome["record"])
    return ExtendedRecords(kept, failed)
