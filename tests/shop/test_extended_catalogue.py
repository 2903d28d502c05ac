"""The `synced_record` and `catalogue_line` points in the catalogue, with the sample partner package.

Each extension's effect reaches the published lines; a record or line an extension fails is left out
and named, the rest are published; without extensions the catalogue is the incremental one, byte for
byte.
"""

from __future__ import annotations

import json
from typing import Any

from sonet_pipeline.extensions.chains import TenantChains
from sonet_pipeline.extensions.extension import ExtensionSpec
from sonet_pipeline.extensions.kinds import register_kind
from sonet_pipeline.extensions.points import CATALOGUE_LINE, SYNCED_RECORD
from sonet_pipeline.extensions.python_kind import PythonExtension
from sonet_pipeline.shop.catalogue_cache import IncrementalCatalogue
from sonet_pipeline.shop.extended_catalogue import build_extended_catalogue
from tests.shop.test_catalogue_cache import GLOVES, full, tenant

__all__ = ["tenant"]


def chains(*declared: tuple[str, str], kind: str = "python") -> TenantChains:
    return TenantChains("acme", [ExtensionSpec("acme", point, name, kind, 5) for point, name in declared])


def build(tenant, tmp_path, extensions):
    builder = IncrementalCatalogue(tmp_path / "cache.pickle")
    return build_extended_catalogue(
        builder, tenant.snapshot, strategy="item_per_variant", shop=GLOVES, extensions=extensions
    )


def lines(shaped) -> dict[str, dict[str, Any]]:
    return {line["sku"]: line for line in map(json.loads, shaped.built.lines.data.splitlines())}


def test_without_extensions_the_catalogue_is_the_incremental_one(tenant, tmp_path):
    shaped = build(tenant, tmp_path, chains())
    assert shaped.failed == [] and shaped.built.lines.data == full(tenant)[0]


def test_a_synced_record_extension_maps_an_item_before_the_model_reads_it(tenant, tmp_path, partner_extensions):
    code = next(iter(tenant.items))
    tenant.change(code, name="Work glove (web)", modelCode=None, variantAttributes=[])
    before = lines(build(tenant, tmp_path, chains()))
    after = build(tenant, tmp_path, chains((SYNCED_RECORD, "acme_item_names")))
    assert before[code]["name"] == "Work glove (web)"
    assert lines(after)[code]["name"] == "Work glove" and after.failed == []
    assert lines(after).keys() == before.keys()


def test_a_catalogue_line_extension_adds_fields_for_the_shop(tenant, tmp_path, partner_extensions):
    shaped = build(tenant, tmp_path, chains((CATALOGUE_LINE, "acme_search_keywords")))
    published = lines(shaped)
    assert published.keys() == lines(build(tenant, tmp_path, chains())).keys()
    assert all(line["acmeKeywords"] == sorted(set(line["name"].lower().split())) for line in published.values())
    assert shaped.built.lines.records == len(published)


def test_a_failed_item_or_line_is_left_out_named_and_the_rest_published(tenant, tmp_path, partner_extensions):
    code = next(iter(tenant.items))
    tenant.change(code, name="FAIL glove", modelCode=None, variantAttributes=[])
    everything = lines(build(tenant, tmp_path, chains()))
    for point in (SYNCED_RECORD, CATALOGUE_LINE):
        shaped = build(tenant, tmp_path, chains((point, "acme_fails_one")))
        assert lines(shaped).keys() == everything.keys() - {code}, point
        (failed,) = shaped.failed
        assert failed["reason"] == "extension acme_fails_one: returned str for a record, not an object"
        assert code in (failed.get("key"), failed.get("sku"))


def test_an_extension_that_raises_withholds_every_line_it_was_given(tenant, tmp_path, partner_extensions):
    shaped = build(tenant, tmp_path, chains((CATALOGUE_LINE, "acme_raises")))
    assert shaped.built.lines.records == 0 and shaped.built.lines.data == b""
    assert len(shaped.failed) == len(lines(build(tenant, tmp_path, chains())))


def test_a_line_keeps_the_catalogues_keys_and_their_types(tenant, tmp_path):
    """The shop's line rules after the extension: no key dropped, no value of another JSON type."""

    def spoil(batch):
        return [{k: v for k, v in line.items() if k != "name"} for line in batch[:1]] + [
            {**line, "price": 12.5} if line.get("price") is not None else {**line, "name": 3} for line in batch[1:]
        ]

    register_kind("test-spoil", lambda spec: PythonExtension(spec.name, spec.point, spoil))
    shaped = build(tenant, tmp_path, chains((CATALOGUE_LINE, "spoil"), kind="test-spoil"))
    reasons = {f["reason"] for f in shaped.failed}
    assert shaped.built.lines.records == 0
    assert "extension spoil: dropped the line's name" in reasons
    assert reasons - {"extension spoil: dropped the line's name"} <= {
        "extension spoil: changed the type of the line's price",
        "extension spoil: changed the type of the line's name",
    }
