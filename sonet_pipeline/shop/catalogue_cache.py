"""The catalogue rebuilt only where items changed: a price change costs one product, not 100,000 items.

A product line depends only on its group of items: a model's items make one configurable, an item
without a model makes one product. `IncrementalCatalogue` keeps, per group, the JSON Lines that
`build_catalogue` made of it (encoded, as published), its conflicts and counts, with every item's
row hash (`_hash` of the store). The next build reads each item's key, model and hash (three
columns: cheap), rebuilds the groups with a changed, new or gone item from their records alone, and
joins the rest as they were. The file equals `jsonl(build_catalogue(every item).products)` byte for
byte (tested); where it could not (the settings changed, no or an unreadable cache, a sku used by two
groups, which `build_catalogue` resolves across groups) it builds everything.

The cache is a pickle of bytes and small tuples, replaced whole after each build in a `Blobs`: a
file under the data dir by default, a row in the tenant's PostgreSQL schema in production
(`store.factory.cache_blobs`), so a worker on another host builds from it too. Losing it only costs
one full build.
"""

from __future__ import annotations

import io
import itertools
import pickle
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sonet_pipeline.common.blobs import Blobs, FolderBlobs
from sonet_pipeline.config.shop import ShopConfig, VariantStrategy
from sonet_pipeline.shop.catalogue import COUNT_KEYS, VariantConflict, build_catalogue
from sonet_pipeline.shop.inputs import settings_digest
from sonet_pipeline.shop.publish import EncodedLines, jsonl
from sonet_pipeline.store import Snapshot

_FORMAT = 4  # bump when the cached shapes change: an older cache is then ignored
#: The cache's name in its `Blobs`.
CACHE_NAME = "catalogue.pickle"


@dataclass(frozen=True)
class _Group:
    """What one group's items make: (sku, encoded line) per product, conflicts, counts (in COUNT_KEYS
    order), and every sku of its lines, variants included."""

    lines: tuple[tuple[str, bytes], ...]
    conflicts: tuple[VariantConflict, ...]
    counts: tuple[int, ...]
    skus: tuple[str, ...]


@dataclass
class _State:
    settings: str
    hashes: dict[str, tuple[str, str]] = field(default_factory=dict)  # itemCode -> (row hash, group)
    groups: dict[str, _Group] = field(default_factory=dict)
    version: int = _FORMAT


@dataclass(frozen=True)
class Built:
    lines: EncodedLines  # the catalogue's JSON Lines, products in sku order
    conflicts: list[VariantConflict]  # sorted as `build_catalogue` sorts them
    counts: dict[str, int]
    rebuilt_groups: int  # how many groups were built from their records this time
    full: bool  # whether every group was (no usable cache, new settings, or a sku clash)


class IncrementalCatalogue:
    def __init__(self, cache: Blobs | Path, name: str = CACHE_NAME) -> None:
        """The cache kept as `name` in `cache`; given a file's path instead, in that file."""
        self.blobs: Blobs = FolderBlobs(cache.parent) if isinstance(cache, Path) else cache
        self.name = cache.name if isinstance(cache, Path) else name

    def build(self, snapshot: Snapshot, *, strategy: VariantStrategy, shop: ShopConfig) -> Built:
        settings = settings_digest(strategy, shop)
        index = {code: (row_hash, _group(code, model)) for code, model, row_hash in _index(snapshot)}
        state = self._load()
        if state is None or state.settings != settings:
            state, affected = _State(settings), {group for _, group in index.values()}
        else:
            changed = {c for c in index.keys() | state.hashes.keys() if index.get(c) != state.hashes.get(c)}
            affected = {pair[1] for c in changed for pair in (index.get(c), state.hashes.get(c)) if pair}
        full = affected >= {group for _, group in index.values()}
        codes = None if full else [code for code, (_, group) in index.items() if group in affected]
        for group in affected:
            state.groups.pop(group, None)
        # By model, so that one group's records at a time are in memory.
        records = snapshot.records("items", codes, order=("modelCode",))
        for group, members in itertools.groupby(records, key=lambda r: _group(r["itemCode"], r.get("modelCode"))):
            state.groups[group] = _built(list(members), strategy, shop)
        state.hashes = index
        built = _joined(state.groups.values(), len(affected), full)
        if built is None:  # a sku of two groups: only the whole catalogue decides which one wins
            whole = build_catalogue(snapshot.records("items"), strategy=strategy, shop=shop)
            lines = EncodedLines(jsonl(whole.products), len(whole.products))
            built = Built(lines, whole.conflicts, whole.counts, len(affected), True)
            state.groups, state.hashes = {}, {}  # the next build starts over too, until the clash is gone
        self._save(state)
        return built

    def _load(self) -> _State | None:
        try:
            data = self.blobs.get(self.name)
            state = pickle.loads(data) if data is not None else None
        except Exception:  # none, cut short or of another version: one full build replaces it
            return None
        return state if isinstance(state, _State) and state.version == _FORMAT else None

    def _save(self, state: _State) -> None:
        # Without the pickler's memo (`fast`: the state has no cycles, and few shared objects): at
        # 100,000 items the memo of every object pickled took some 50 MB at the peak of a cold shop
        # step, for a file 3 % smaller (bench/README.md, "Price lists at scale").
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.fast = True
        pickler.dump(state)
        self.blobs.put(self.name, buffer.getvalue())


def _index(snapshot: Snapshot) -> list[tuple[str, str | None, str]]:
    return snapshot.columns("items", ["itemCode", "modelCode", "_hash"])


def _group(code: str, model: str | None) -> str:
    """The group an item's product line depends on: its model, or the item itself."""
    return f"model:{model}" if isinstance(model, str) and model else f"item:{code}"


def _built(records: list[dict[str, Any]], strategy: VariantStrategy, shop: ShopConfig) -> _Group:
    part = build_catalogue(records, strategy=strategy, shop=shop)
    skus = [line["sku"] for line in part.products] + [v["sku"] for line in part.products for v in line["variants"]]
    lines = tuple((line["sku"], jsonl([line])) for line in part.products)
    return _Group(lines, tuple(part.conflicts), tuple(part.counts[k] for k in COUNT_KEYS), tuple(skus))


def _joined(groups: Iterable[_Group], rebuilt: int, full: bool) -> Built | None:
    """The groups as one catalogue; None when two groups share a sku."""
    lines: list[tuple[str, bytes]] = []
    conflicts: list[VariantConflict] = []
    totals = [0] * len(COUNT_KEYS)
    seen: set[str] = set()
    for group in groups:
        if not seen.isdisjoint(group.skus):
            return None
        seen.update(group.skus)
        lines.extend(group.lines)
        conflicts.extend(group.conflicts)
        totals = [total + count for total, count in zip(totals, group.counts, strict=True)]
    counts = dict(zip(COUNT_KEYS, totals, strict=True))
    lines.sort(key=lambda pair: pair[0])
    conflicts.sort(key=lambda c: (c.model_code, c.item_codes, c.problem))
    data = b"".join(line for _, line in lines)
    return Built(EncodedLines(data, len(lines)), conflicts, counts, rebuilt, full)
