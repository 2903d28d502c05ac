"""The shop's catalogue: Sonet items become published products, hidden counts and variant conflicts.

`build_catalogue` reads items in the contract's GraphQL shape (as `Snapshot.records("items")` yields
them); the rules are docs/shop.md's. Beyond them: `options_ignored` counts the visible items whose
declared options are not applied (strategy `item_per_variant`, or the item belongs to a model); an
option's sku is `ITEM/value/...` with `%` and `/` in a value escaped; a configurable's `price` is its
lowest variant price and its `stock` their sum. A configurable is also withheld as a conflict when
its options make more than `MAX_OPTION_COMBINATIONS` children, or when one of its skus is another
line's too (items win over models). Odd data never raises: nulls, non-text values, unparsable
decimals and hostile texts pass through or read as null. The order of the items does not matter.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sonet_pipeline.config.shop import OptionAxis, ShopConfig, VariantStrategy

#: More option children than this for one item is a configuration error: the item is withheld.
MAX_OPTION_COMBINATIONS = 1000
COUNT_KEYS = (
    "simple",
    "configurable",
    "variant",
    "option",
    "hidden_passive",
    "hidden_deleted",
    "hidden_not_web_visible",
    "withheld_conflict",
    "options_ignored",
)

_HIDDEN = {"DELETED": "hidden_deleted", "PASSIVE": "hidden_passive"}

Item = Mapping[str, Any]


@dataclass(frozen=True)
class VariantConflict:
    model_code: str
    problem: str  # e.g. "2 variants share Size=43", "variant without attributes", "axes differ: [Size] vs [..]"
    item_codes: tuple[str, ...]  # the items concerned, sorted


@dataclass(frozen=True)
class Catalogue:
    products: list[dict[str, Any]]  # JSON-ready, sorted by "sku"
    conflicts: list[VariantConflict]  # sorted by model_code
    counts: dict[str, int]  # every key of COUNT_KEYS


@dataclass(frozen=True)
class _Candidate:
    """A product line before the sku check, with the codes of the items it comes from."""

    line: dict[str, Any]
    item_codes: tuple[str, ...]
    kind: str  # "simple", "model" or "options"

    def skus(self) -> list[str]:
        return [self.line["sku"], *(variant["sku"] for variant in self.line["variants"])]


def build_catalogue(items: Iterable[Mapping[str, Any]], *, strategy: VariantStrategy, shop: ShopConfig) -> Catalogue:
    """The products to publish, the configurables withheld and why, and the counts for metadata."""
    counts = dict.fromkeys(COUNT_KEYS, 0)
    conflicts: list[VariantConflict] = []
    candidates: list[_Candidate] = []
    models: dict[str, list[Item]] = defaultdict(list)
    latest = _latest_by_code(items)
    latest.reverse()
    while latest:  # popped, so that a record no line needs is freed while the lines are built
        item = latest.pop()
        visible = _visible(item)
        if not visible:
            counts[_hidden_reason(item)] += 1
        model = _text(item.get("modelCode"))
        declared = shop.options_for(_code(item), _text(item.get("productGroup")))
        if model:
            models[model].append(item)
            if visible and declared:
                counts["options_ignored"] += 1
        elif visible:
            found = _standalone(item, declared, strategy, shop, counts)
            if isinstance(found, VariantConflict):
                conflicts.append(found)
            else:
                candidates.append(found)
    for model in list(models):
        members = models.pop(model)
        shown = sorted((item for item in members if _visible(item)), key=_code)
        problems = _variant_conflicts(model, shown) if shown else []
        if problems:
            conflicts.extend(problems)
            counts["withheld_conflict"] += 1
        elif shown:
            candidates.append(_Candidate(_model_line(model, shown, members), tuple(map(_code, shown)), "model"))
    candidates = _without_clashes(candidates, conflicts, counts)
    for candidate in candidates:
        counts["simple" if candidate.kind == "simple" else "configurable"] += 1
        for variant in candidate.line["variants"]:
            counts[variant["type"]] += 1
    products = sorted((candidate.line for candidate in candidates), key=lambda line: line["sku"])
    conflicts.sort(key=lambda c: (c.model_code, c.item_codes, c.problem))
    return Catalogue(products=products, conflicts=conflicts, counts=counts)


def _standalone(
    item: Item, declared: tuple[OptionAxis, ...], strategy: VariantStrategy, shop: ShopConfig, counts: dict[str, int]
) -> _Candidate | VariantConflict:
    """A visible item without a model: simple, or configurable with its declared options."""
    code = _code(item)
    if declared and shop.strategy_for(_text(item.get("productGroup")), strategy) != "comment_field":
        counts["options_ignored"] += 1
    elif declared:
        combinations = math.prod(len(axis.values) for axis in declared)
        if combinations > MAX_OPTION_COMBINATIONS:
            problem = f"{combinations} option combinations, more than {MAX_OPTION_COMBINATIONS}"
            counts["withheld_conflict"] += 1
            return VariantConflict(code, problem, (code,))
        return _Candidate(_options_line(item, declared), (code,), "options")
    line = _line(item, sku=code, kind="simple", name=_text(item.get("name")) or code, sources=[item])
    line["itemCode"] = code
    return _Candidate(line, (code,), "simple")


def _variant_conflicts(model: str, shown: list[Item]) -> list[VariantConflict]:
    """What keeps a model's visible variants (sorted by itemCode) from making one configurable."""
    attributes = {_code(item): _attributes(item) for item in shown}
    named = {code: pairs for code, pairs in attributes.items() if pairs}
    problems: list[tuple[str, list[str]]] = []
    bare = [code for code, pairs in attributes.items() if not pairs]
    if bare:
        problems.append(("variant without attributes", bare))
    repeating = [code for code, pairs in named.items() if len({p["name"] for p in pairs}) < len(pairs)]
    if repeating:
        problems.append(("variant repeats an attribute name", repeating))
    by_axes: dict[tuple[str, ...], list[str]] = defaultdict(list)
    by_values: dict[tuple[tuple[str, str], ...], list[str]] = defaultdict(list)
    for code, pairs in named.items():
        by_axes[tuple(sorted(p["name"] for p in pairs))].append(code)
        by_values[tuple(sorted((p["name"], p["value"]) for p in pairs))].append(code)
    if len(by_axes) > 1:
        listed = " vs ".join(f"[{', '.join(axes)}]" for axes in sorted(by_axes))
        problems.append((f"axes differ: {listed}", list(named)))
    for values, codes in sorted(by_values.items()):
        if len(codes) > 1:
            problems.append((f"{len(codes)} variants share {', '.join(f'{n}={v}' for n, v in values)}", codes))
    return [VariantConflict(model, problem, tuple(sorted(codes))) for problem, codes in problems]


def _without_clashes(
    candidates: list[_Candidate], conflicts: list[VariantConflict], counts: dict[str, int]
) -> list[_Candidate]:
    """Withhold each configurable with a sku used twice: models first, so that items win over them."""
    for kind in ("model", "options"):
        owners: dict[str, list[_Candidate]] = defaultdict(list)  # one entry per use
        for candidate in candidates:
            for sku in candidate.skus():
                owners[sku].append(candidate)
        kept = []
        for candidate in candidates:
            mine = candidate.kind == kind  # this pass withholds its own kind only: skip the others' work
            clashes = sorted({sku for sku in candidate.skus() if len(owners[sku]) > 1}) if mine else []
            if not clashes:
                kept.append(candidate)
                continue
            codes = {code for sku in clashes for owner in owners[sku] for code in owner.item_codes}
            problem = f"sku used more than once: {', '.join(clashes)}"
            conflicts.append(VariantConflict(candidate.line["sku"], problem, tuple(sorted(codes))))
            counts["withheld_conflict"] += 1
        candidates = kept
    return candidates


def _model_line(model: str, shown: list[Item], members: list[Item]) -> dict[str, Any]:
    """The configurable of a model's visible variants (consistent, sorted by itemCode)."""
    first = shown[0]
    axes = [pair["name"] for pair in _attributes(first)]
    name = next((n for item in shown if (n := _text(item.get("modelName")))), None)
    line = _line(first, sku=model, kind="configurable", name=name or _text(first.get("name")) or model, sources=members)
    variants = [
        _child(
            item,
            sku=_code(item),
            kind="variant",
            name=_text(item.get("name")) or _code(item),
            attributes=sorted(_attributes(item), key=lambda pair: axes.index(pair["name"])),
        )
        for item in shown
    ]
    prices = [variant["price"] for variant in variants]
    line.update(axes=axes, variants=variants, price=_lowest(prices), ean=None)
    line["stock"] = _total(variant["stock"] for variant in variants)
    return line


def _options_line(item: Item, axes: tuple[OptionAxis, ...]) -> dict[str, Any]:
    """The configurable of one item sold with declared options: a child per combination."""
    code = _code(item)
    name = _text(item.get("name")) or code
    line = _line(item, sku=code, kind="configurable", name=name, sources=[item])
    variants = []
    for values in itertools.product(*(axis.values for axis in axes)):
        attributes = [{"name": axis.name, "value": value} for axis, value in zip(axes, values, strict=True)]
        label = ", ".join(f"{pair['name']} {pair['value']}" for pair in attributes)
        sku = "/".join([code, *(value.replace("%", "%25").replace("/", "%2F") for value in values)])
        variants.append(_child(item, sku=sku, kind="option", name=f"{name}, {label}", attributes=attributes))
    line.update(axes=[axis.name for axis in axes], variants=variants)
    return line


def _line(item: Item, *, sku: str, kind: str, name: str, sources: list[Item]) -> dict[str, Any]:
    return {
        "sku": sku,
        "type": kind,
        "name": name,
        "description": _text(item.get("description")),
        "productGroup": _text(item.get("productGroup")),
        "unit": _text(item.get("unit")),
        "currency": _text(item.get("currency")),
        "vatRate": _text(item.get("vatRate")),
        "price": _text(item.get("listPrice")),
        "stock": _text(item.get("stockBalance")),
        "ean": _text(item.get("ean")),
        "itemCode": None,
        "axes": [],
        "variants": [],
        "sourceModified": max(filter(None, (_instant(s.get("dateModified")) for s in sources)), default=None),
    }


def _child(item: Item, *, sku: str, kind: str, name: str, attributes: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "sku": sku,
        "type": kind,
        "itemCode": _code(item),
        "name": name,
        "attributes": attributes,
        "price": _text(item.get("listPrice")),
        "stock": _text(item.get("stockBalance")),
        "ean": _text(item.get("ean")),
    }


def _latest_by_code(items: Iterable[Mapping[str, Any]]) -> list[Item]:
    """One record per itemCode (the latest, should the input repeat one), sorted by itemCode."""
    chosen: dict[str, Item] = {}
    for item in items:
        code = _text(item.get("itemCode")) if isinstance(item, Mapping) else None
        if code and (code not in chosen or _rank(item) > _rank(chosen[code])):
            chosen[code] = item
    return [chosen[code] for code in sorted(chosen)]


def _rank(item: Item) -> tuple[str, str]:
    return _instant(item.get("dateModified")) or "", repr(sorted(item.items(), key=lambda kv: str(kv[0])))


def _visible(item: Item) -> bool:
    return item.get("status") == "ACTIVE" and item.get("webVisible") is True


def _hidden_reason(item: Item) -> str:
    status = item.get("status")
    return _HIDDEN.get(status, "hidden_not_web_visible") if isinstance(status, str) else "hidden_not_web_visible"


def _code(item: Item) -> str:
    return _text(item.get("itemCode")) or ""


def _attributes(item: Item) -> list[dict[str, str]]:
    """The item's variantAttributes as {"name", "value"} text pairs; entries without a name are dropped."""
    raw = item.get("variantAttributes")
    pairs = [entry for entry in raw if isinstance(entry, Mapping)] if isinstance(raw, list | tuple) else []
    named = [(_text(entry.get("name")), _text(entry.get("value"))) for entry in pairs]
    return [{"name": name, "value": value or ""} for name, value in named if name and name.strip()]


def _text(value: Any) -> str | None:
    return value if value is None or isinstance(value, str) else str(value)


def _instant(value: Any) -> str | None:
    """A dateModified as the contract's text (`2026-01-01T00:00:00.000Z`), which sorts in time order."""
    if isinstance(value, datetime):
        utc = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
        return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"
    return _text(value)


def _decimal(text: str | None) -> Decimal | None:
    try:
        number = Decimal(text if text is not None else "NaN")
    except ArithmeticError:
        return None
    return number if number.is_finite() else None


def _lowest(prices: list[str | None]) -> str | None:
    """The lowest of the prices as written (e.g. "59.90"); None when none is a number."""
    numbers = [(number, text) for text in prices if (number := _decimal(text)) is not None]
    return min(numbers, key=lambda pair: pair[0])[1] if numbers else None


def _total(stocks: Iterable[str | None]) -> str | None:
    numbers = [number for text in stocks if (number := _decimal(text)) is not None]
    try:
        return str(sum(numbers, Decimal(0))) if numbers else None
    except ArithmeticError:  # beyond the decimal context's range
        return None
