"""What each published file is computed from, and which files are out of date.

Every file the shop reads is a function of some of the tenant's synced entities, the outbox and the
tenant's `shop` configuration. Each input has a fingerprint: the snapshot's per-entity digest (it
changes exactly when a record is added or changed), the outbox's change mark, a digest of the
configuration. The manifest records, per file, the fingerprints it was computed from; a file is
stale when they differ from the current ones. So only what an input change touches is recomputed,
and a sync that changed nothing publishes nothing. A file that time alone makes stale (`prices`: a
price comes into force) also records its `next_change`; it is stale from that instant on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sonet_pipeline.config.shop import ShopConfig, VariantStrategy
from sonet_pipeline.config.tenants import Tenant

CATALOGUE, ACCOUNTS, LOGINS, RIGHTS, ORDER_STATUS = "catalogue", "accounts", "logins", "rights", "order_status"
PRICES = "prices"

#: Per published file, the inputs it is computed from (entity names, "outbox", "config").
FILE_INPUTS: dict[str, tuple[str, ...]] = {
    CATALOGUE: ("items", "config"),
    ACCOUNTS: ("customers", "segments"),
    LOGINS: ("customers", "segments"),
    RIGHTS: ("customers", "segments", "config"),
    ORDER_STATUS: ("sales_orders", "outbox"),
    PRICES: ("price_list_lines", "config"),
}
FILES = tuple(FILE_INPUTS)

#: Where the manifest's `source` keeps, per file, the fingerprints it was computed from.
INPUTS_FIELD = "inputs"
#: Where it keeps, per file that time makes stale, the instant it does (ISO-8601 UTC; null: never).
NEXT_CHANGE_FIELD = "next_change"


def config_digest(tenant: Tenant) -> str:
    """A digest of everything in the tenant's configuration that shapes the shop's view (its
    extensions too, when it has any)."""
    digest = settings_digest(tenant.variant_strategy, tenant.shop)
    extensions = tenant.extensions.model_dump(mode="json", exclude_defaults=True)
    if not extensions:
        return digest
    text = json.dumps({"settings": digest, "extensions": extensions}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def settings_digest(strategy: VariantStrategy, shop: ShopConfig) -> str:
    """A digest of a variant strategy and `shop` section (the settings the catalogue is built with)."""
    shaping = {"variant_strategy": strategy, "shop": shop.model_dump(mode="json")}
    text = json.dumps(shaping, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def current_inputs(
    tenant: Tenant, snapshot_manifest: Mapping[str, Any] | None, outbox_mark: str
) -> dict[str, str] | None:
    """The fingerprint of every input now; None before the tenant's first published snapshot."""
    if snapshot_manifest is None:
        return None
    entities = snapshot_manifest.get("entities", {})
    marks = {name: str(entities.get(name, {}).get("fingerprint", "absent")) for name in _ENTITY_INPUTS}
    return {**marks, "outbox": outbox_mark, "config": config_digest(tenant)}


def file_inputs(inputs: Mapping[str, str], name: str) -> dict[str, str]:
    """The fingerprints the file `name` depends on."""
    return {input_name: inputs[input_name] for input_name in FILE_INPUTS[name]}


def stale_files(
    inputs: Mapping[str, str], published: Mapping[str, Any] | None, now: datetime | None = None
) -> list[str]:
    """The files whose inputs changed since they were published (all of them before a first publish),
    and, given `now`, those whose `next_change` has come (`due_files`)."""
    recorded = ((published or {}).get("source") or {}).get(INPUTS_FIELD) or {}
    listed = {entry.get("name") for entry in (published or {}).get("files", [])}
    due = due_files(published, now) if now is not None else {}
    return [
        name
        for name in FILES
        if f"{name}.jsonl" not in listed or recorded.get(name) != file_inputs(inputs, name) or name in due
    ]


def due_files(published: Mapping[str, Any] | None, now: datetime) -> dict[str, str]:
    """The files whose recorded `next_change` is `now` or earlier, with that instant (as recorded)."""
    recorded = ((published or {}).get("source") or {}).get(NEXT_CHANGE_FIELD) or {}
    due = {}
    for name, text in recorded.items() if isinstance(recorded, Mapping) else ():
        try:
            instant = datetime.fromisoformat(str(text).replace("Z", "+00:00")) if text is not None else None
        except ValueError:  # not an instant: republish, and the next publish records a good one
            instant = now
        if name in FILE_INPUTS and instant is not None and instant.tzinfo is not None and now >= instant:
            due[name] = str(text)
    return due


@dataclass(frozen=True)
class TenantStaleness:
    """A tenant's files to publish now, and the input fingerprints they would be computed from."""

    tenant: str
    inputs: dict[str, str] | None  # None: no snapshot yet (not synced), so nothing to publish
    files: list[str]  # in FILES order; empty when every file is up to date
    due: dict[str, str] = field(default_factory=dict)  # the files time made stale: their next_change


def stale_by_tenant(
    tenants: Iterable[Tenant],
    *,
    snapshot_manifest: Callable[[str], Mapping[str, Any] | None],
    outbox_mark: Callable[[str], str],
    published_manifest: Callable[[Tenant], Mapping[str, Any] | None],
    everything: bool = False,
    now: datetime | None = None,
) -> list[TenantStaleness]:
    """Per tenant, the files to publish: the stale ones, or every file with `everything` (once synced).

    What the shop sensor and `sonet-pipeline shop publish` both ask. The callables read the world: a
    tenant's snapshot manifest, its outbox change mark, the manifest published at its destination
    (read only when needed). With `now`, a file whose `next_change` has come is stale too."""
    found = []
    for tenant in tenants:
        inputs = current_inputs(tenant, snapshot_manifest(tenant.name), outbox_mark(tenant.name))
        due: dict[str, str] = {}
        if inputs is None:
            files: list[str] = []
        elif everything:
            files = list(FILES)
        else:
            published = published_manifest(tenant)
            files = stale_files(inputs, published, now)
            due = due_files(published, now) if now is not None else {}
        found.append(TenantStaleness(tenant.name, inputs, files, due))
    return found


def merged_source(
    published: Mapping[str, Any] | None,
    inputs: Mapping[str, str],
    written: list[str],
    high_water_marks: Mapping[str, str | None],
    next_changes: Mapping[str, str | None] | None = None,
) -> dict[str, Any]:
    """The manifest's `source` after publishing `written`: their inputs now, the others' as they were;
    likewise the `next_change` of the written files that time makes stale (`next_changes`)."""
    source = (published or {}).get("source") or {}
    recorded = dict(source.get(INPUTS_FIELD) or {})
    recorded.update({name: file_inputs(inputs, name) for name in written})
    merged: dict[str, Any] = {"high_water_marks": dict(high_water_marks), INPUTS_FIELD: recorded}
    earlier = source.get(NEXT_CHANGE_FIELD)
    changes = dict(earlier) if isinstance(earlier, Mapping) else {}
    changes.update({name: text for name, text in (next_changes or {}).items() if name in written})
    if changes:
        merged[NEXT_CHANGE_FIELD] = changes
    return merged


_ENTITY_INPUTS = sorted({name for names in FILE_INPUTS.values() for name in names} - {"outbox", "config"})
