"""A tenant's published shop files as the web shop reads them: catalogue, accounts, logins, rights.

The simulated web shop sees only what the pipeline publishes (docs/shop.md "Files"): `manifest.json`,
then the JSON Lines files it lists, from the tenant's destination (a `Blobs`: a folder or S3). It never
reads the store. `read_published` answers None until a publish has written the manifest and the files,
and raises `PublishedFilesError` naming the file when one is not JSON Lines of objects.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sonet_pipeline.common.blobs import Blobs
from sonet_pipeline.webshop.buyer_prices import PriceKey, index_prices

MANIFEST = "manifest.json"
#: The files the web shop reads to sell and to know its buyers.
FILES = ("catalogue", "accounts", "logins", "rights")
#: The buyers' prices, read when the manifest lists them (a pipeline before contract 1.1 has none).
PRICES = "prices"


class PublishedFilesError(ValueError):
    """A published file cannot be read; the message names it."""


@dataclass(frozen=True)
class PublishedShop:
    """One publish of a tenant's files, parsed; `version` names it (the files' SHA-256 in the manifest)."""

    version: tuple[str, ...]
    catalogue: tuple[Mapping[str, Any], ...]
    accounts: Mapping[str, Mapping[str, Any]]  # by accountId
    logins: Mapping[str, Mapping[str, Any]]  # by login (the normalized e-mail)
    rights: tuple[Mapping[str, Any], ...]
    #: `prices.jsonl`'s periods by (priceListCode, itemCode); empty when it is not published
    prices: Mapping[PriceKey, list[Mapping[str, Any]]] = field(default_factory=dict)


def published_version(files: Blobs) -> tuple[str, ...] | None:
    """The SHA-256 of each file the shop reads, as the manifest lists them; None before the first publish
    (no manifest, or one that lists none of them)."""
    raw = files.get(MANIFEST)
    if raw is None:
        return None
    try:
        manifest = json.loads(raw)
        listed = {entry["name"]: str(entry["sha256"]) for entry in manifest["files"]}
    except (ValueError, TypeError, KeyError) as exc:
        raise PublishedFilesError(f"{files.describe(MANIFEST)} is not a manifest: {exc}") from None
    if not all(f"{name}.jsonl" in listed for name in FILES):
        return None
    return (*(listed[f"{name}.jsonl"] for name in FILES), listed.get(f"{PRICES}.jsonl", ""))


def read_published(files: Blobs) -> PublishedShop | None:
    """The tenant's published files, or None before the first publish."""
    version = published_version(files)
    if version is None:
        return None
    records = {name: _json_lines(files, f"{name}.jsonl") for name in FILES}
    prices = _json_lines(files, f"{PRICES}.jsonl") if version[-1] else []
    return PublishedShop(
        version=version,
        catalogue=tuple(records["catalogue"]),
        accounts={str(row.get("accountId")): row for row in records["accounts"]},
        logins={str(row.get("login")): row for row in records["logins"]},
        rights=tuple(records["rights"]),
        prices=index_prices(prices),
    )


def _json_lines(files: Blobs, name: str) -> list[dict[str, Any]]:
    raw = files.get(name)
    if raw is None:
        raise PublishedFilesError(f"{files.describe(name)} is listed in the manifest but missing")
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(raw.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise PublishedFilesError(f"{files.describe(name)} line {number} is not JSON: {exc}") from None
        if not isinstance(row, dict):
            raise PublishedFilesError(f"{files.describe(name)} line {number} is not a JSON object")
        rows.append(row)
    return rows
