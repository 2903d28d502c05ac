"""What each published file is computed from, and which files are out of date.

Every file the shop reads is a function of some of the tenant's synced entities, the outbox and the
tenant's `shop` configuration. Each input has a fingerprint: the snapshot's per-entity digest (it
changes exactly when a record is added or changed), the outbox's change mark, a digest of the
configuration. The manifest records, per file, the fingerprints it was computed from; a file is
stale when they differ from the current ones. So only what an input change touches is recomputed,
and a sync that changed nothing publishes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sonet_pipeline.config.shop import ShopConfig, VariantStrategy
from sonet_pipeline.config.tenants import Tenant

CATALOGUE, ACCOUNTS, LOGINS, RIGHTS, ORDER_STATUS = "catalogue", "accounts", "logins", "rights", "order_status"

#: Per published file, the inputs it is computed from (entity names, "outbox", "config").
FILE_INPUTS: dict[str, tuple[str, ...]] = {
    CATALOGUE: ("items", "config"),
    ACCOUNTS: ("customers", "segments"),
    LOGINS: ("customers", "segments"),
    RIGHTS: ("customers", "segments", "config"),
    ORDER_STATUS: ("sales_orders", "outbox"),
}
FILES = tuple(FILE_INPUTS)

#: Where the manifest's `source` keeps, per file, the fingerprints it was computed from.
INPUTS_FIELD = "inputs"


def config_digest(tenant: Tenant) -> str:
    """A digest of everything in the tenant's configuration that shapes the shop's view."""
    return settings_digest(tenant.variant_strategy, tenant.shop)


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


def stale_files(inputs: Mapping[str, str], published: Mapping[str, Any] | None) -> list[str]:
    """The files whose inputs changed since they were published (all of them before a first publish)."""
    recorded = ((published or {}).get("source") or {}).get(INPUTS_FIELD) or {}
    listed = {entry.get("name") for entry in (published or {}).get("files", [])}
    return [name for name in FILES if f"{name}.jsonl" not in listed or recorded.get(name) != file_inputs(inputs, name)]


@dataclass(frozen=True)
class TenantStaleness:
    """A tenant's files to publish now, and the input fingerprints they would be computed from."""

    tenant: str
    inputs: dict[str, str] | None  # None: no snapshot yet (not synced), so nothing to publish
    files: list[str]  # in FILES order; empty when every file is up to date


def stale_by_tenant(
    tenants: Iterable[Tenant],
    *,
    snapshot_manifest: Callable[[str], Mapping[str, Any] | None],
    outbox_mark: Callable[[str], str],
    published_manifest: Callable[[Tenant], Mapping[str, Any] | None],
    everything: bool = False,
) -> list[TenantStaleness]:
    """Per tenant, the files to publish: the stale ones, or every file with `everything` (once synced).

    What the shop sensor and `sonet-pipeline shop publish` both ask. The callables read the world: a
    tenant's snapshot manifest, its outbox change mark, the manifest published at its destination
    (read only when needed)."""
    found = []
    for tenant in tenants:
        inputs = current_inputs(tenant, snapshot_manifest(tenant.name), outbox_mark(tenant.name))
        if inputs is None:
            files: list[str] = []
        elif everything:
            files = list(FILES)
        else:
            files = stale_files(inputs, published_manifest(tenant))
        found.append(TenantStaleness(tenant.name, inputs, files))
    return found


def merged_source(
    published: Mapping[str, Any] | None,
    inputs: Mapping[str, str],
    written: list[str],
    high_water_marks: Mapping[str, str | None],
) -> dict[str, Any]:
    """The manifest's `source` after publishing `written`: their inputs now, the others' as they were."""
    recorded = dict(((published or {}).get("source") or {}).get(INPUTS_FIELD) or {})
    recorded.update({name: file_inputs(inputs, name) for name in written})
    return {"high_water_marks": dict(high_water_marks), INPUTS_FIELD: recorded}


_ENTITY_INPUTS = sorted({name for names in FILE_INPUTS.values() for name in names} - {"outbox", "config"})
