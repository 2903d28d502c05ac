"""A view the intake builds from a tenant's published snapshot, kept and rechecked: the rights
(`rights_gate`), the buyers' prices (`price_gate`) and the customers registration looks up
(`customer_lookup`). Each is a `PublishedView` naming `what` it is, its `sources` and how it is `build`t.

At most every `check_seconds` (5 s) the snapshot's manifest is read again; the view is rebuilt only
when the fingerprint of one of its source entities changed, by the request that finds the change while
the others go on with the kept view. A view is None (not known) while one of its sources was never
synced. A snapshot that cannot be read: the kept view goes on answering (logged).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sonet_pipeline.common.clock import Clock, SystemClock
from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.store import Snapshot, open_snapshot

log = logging.getLogger(__name__)

CHECK_SECONDS = 5.0
View = TypeVar("View")


@dataclass
class _Kept(Generic[View]):
    key: tuple[str, ...] | None = None  # the manifest's fingerprints the view was built from
    view: View | None = None
    checked_at: float | None = None  # monotonic; None: never checked


class PublishedView(Generic[View]):
    """Each tenant's `build(tenant, snapshot)` over the `sources` entities, kept and refreshed. Thread-safe.
    A subclass names `what` (for the log) and `sources`, and defines `build`."""

    what: str
    sources: tuple[str, ...]

    def __init__(
        self,
        snapshot_for: Callable[[str], Snapshot] = open_snapshot,
        *,
        clock: Clock | None = None,
        check_seconds: float = CHECK_SECONDS,
    ) -> None:
        self.snapshot_for = snapshot_for
        self.clock = clock or SystemClock()
        self.check_seconds = check_seconds
        self._kept: dict[str, _Kept[View]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def build(self, tenant: Tenant, snapshot: Snapshot) -> View:
        """The tenant's view from `snapshot` (its `sources` all synced)."""
        raise NotImplementedError

    def described(self, view: View) -> str:
        """What the log says was read: `what`, unless a subclass says more."""
        return self.what

    def fresh(self, tenant: str) -> bool:
        """Whether `get` answers without reading anything (checked within `check_seconds`)."""
        kept = self._kept.get(tenant)
        return (
            kept is not None
            and kept.checked_at is not None
            and self.clock.monotonic() - kept.checked_at < self.check_seconds
        )

    def get(self, tenant: Tenant) -> View | None:
        """The tenant's view now; None while it cannot be known. May read the snapshot (blocking)."""
        if self.fresh(tenant.name):
            return self._kept[tenant.name].view
        with self._guard:
            lock = self._locks.setdefault(tenant.name, threading.Lock())
        kept = self._kept.get(tenant.name)
        if not lock.acquire(blocking=kept is None):
            # Another thread is reading the snapshot again: answer with the view kept until it is done.
            assert kept is not None
            return kept.view
        try:
            if not self.fresh(tenant.name):
                self._refresh(tenant)
            return self._kept[tenant.name].view
        finally:
            lock.release()

    def _refresh(self, tenant: Tenant) -> None:
        """Read the manifest; rebuild the view when its sources changed. The kept entry is replaced whole
        at the end, so a thread that does not wait sees the old one or the new one."""
        kept = self._kept.get(tenant.name) or _Kept()
        key, view = kept.key, kept.view
        try:
            snapshot = self.snapshot_for(tenant.name)
            key = source_key(snapshot.manifest(), self.sources)
            if key is None:
                view = None
            elif key != kept.key:
                started = self.clock.monotonic()
                view = self.build(tenant, snapshot)
                took = self.clock.monotonic() - started
                log.info("tenant %s: %s read from the snapshot in %.2f s", tenant.name, self.described(view), took)
        except Exception as exc:
            # An unreadable snapshot: the kept view (if any) goes on answering; none means not known.
            key, view = kept.key, kept.view
            why = f"{type(exc).__name__}: {exc}"
            log.warning("tenant %s: the published snapshot cannot be read for %s: %s", tenant.name, self.what, why)
        self._kept[tenant.name] = _Kept(key, view, self.clock.monotonic())


def source_key(manifest: Mapping[str, Any] | None, sources: tuple[str, ...]) -> tuple[str, ...] | None:
    """The fingerprints of `sources` in a snapshot manifest; None when one of them was never synced."""
    entities = (manifest or {}).get("entities") or {}
    key = []
    for name in sources:
        described = entities.get(name)
        if not isinstance(described, Mapping) or ("last_success_at" in described and not described["last_success_at"]):
            return None
        key.append(str(described.get("fingerprint") or (manifest or {}).get("published_at")))
    return tuple(key)
