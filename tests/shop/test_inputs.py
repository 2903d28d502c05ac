"""Which published files are out of date: each file's inputs, fingerprinted, against the manifest's record."""

from __future__ import annotations

from typing import Any

from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.shop.inputs import (
    ACCOUNTS,
    CATALOGUE,
    FILES,
    INPUTS_FIELD,
    LOGINS,
    ORDER_STATUS,
    PRICES,
    RIGHTS,
    config_digest,
    current_inputs,
    file_inputs,
    merged_source,
    stale_files,
)

SHOP = {
    "variant_strategy_by_group": {"GLOVES": "comment_field"},
    "options": [{"product_group": "GLOVES", "axes": [{"name": "Size", "values": ["7", "8", "9"]}]}],
    "rights": [
        {"rule": "builders", "when": {"segments": ["B2B-RAKENNUS"]}, "see_prices": True, "can_order": True},
        {"rule": "default", "see_prices": True, "can_order": False},
    ],
}
ENTITIES = ("items", "customers", "segments", "sales_orders", "price_list_lines")
HIGH_WATER_MARKS = {"items": "2026-11-28T04:30:00.000Z", "customers": None}


def tenant(**changes: Any) -> Tenant:
    """The tenant `acme` with its shop section, top-level settings replaced by `changes`."""
    base = {
        "name": "acme",
        "sonet": {"base_url": "http://sonet.example", "company": "01", "token_env": "ACME_T"},
        "shop": SHOP,
    }
    return Tenant.model_validate({**base, **changes})


def snapshot_manifest(**fingerprints: str) -> dict[str, Any]:
    """A sync snapshot's manifest: every entity with fingerprint `<entity>-1` unless given."""
    entities = {
        name: {"fingerprint": fingerprints.get(name, f"{name}-1"), "high_water_mark": HIGH_WATER_MARKS.get(name)}
        for name in ENTITIES
    }
    return {"published_at": "2026-11-28T04:31:00.000Z", "entities": entities}


def inputs(config: Tenant | None = None, outbox: str = "0/-/0/0/0/0", **fingerprints: str) -> dict[str, str]:
    found = current_inputs(config or tenant(), snapshot_manifest(**fingerprints), outbox)
    assert found is not None
    return found


def published(now: dict[str, str], files: tuple[str, ...] = FILES) -> dict[str, Any]:
    """The shop manifest after publishing `files` computed from `now` (nothing published before)."""
    return {
        "files": [{"name": f"{name}.jsonl", "records": 1} for name in files],
        "source": merged_source(None, now, list(files), HIGH_WATER_MARKS),
    }


# config_digest


def test_the_config_digest_is_stable_and_follows_the_shop_section_and_the_variant_strategy():
    assert config_digest(tenant()) == config_digest(tenant())
    assert config_digest(tenant(variant_strategy="comment_field")) != config_digest(tenant())
    rights = {**SHOP, "rights": [{"rule": "default", "see_prices": False, "can_order": False}]}
    assert config_digest(tenant(shop=rights)) != config_digest(tenant())
    assert config_digest(tenant(shop={**SHOP, "options": []})) != config_digest(tenant())
    assert config_digest(tenant(shop={})) != config_digest(tenant())


def test_settings_that_do_not_shape_the_shop_leave_the_config_digest_alone():
    unrelated = tenant(
        sync_every_seconds=300,
        send_every_seconds=30,
        lookback_seconds=600,
        send_retry_hours=2,
        sonet={"base_url": "https://other.example", "company": "02", "token_env": "OTHER_T"},
    )
    assert config_digest(unrelated) == config_digest(tenant())


# current_inputs


def test_current_inputs_are_none_before_the_first_snapshot():
    assert current_inputs(tenant(), None, "0/-/0/0/0/0") is None


def test_current_inputs_hold_every_entity_the_outbox_mark_and_the_config_digest():
    now = inputs(outbox="3/2026-11-28T04:00:00+00:00/1/0/2/0")
    assert now == {
        "customers": "customers-1",
        "items": "items-1",
        "sales_orders": "sales_orders-1",
        "segments": "segments-1",
        "price_list_lines": "price_list_lines-1",
        "outbox": "3/2026-11-28T04:00:00+00:00/1/0/2/0",
        "config": config_digest(tenant()),
    }


def test_an_entity_the_snapshot_lacks_is_absent():
    manifest = snapshot_manifest()
    del manifest["entities"]["sales_orders"]
    now = current_inputs(tenant(), manifest, "0/-/0/0/0/0")
    assert now is not None and now["sales_orders"] == "absent"


# stale_files


def test_every_file_is_stale_before_a_first_publish():
    assert stale_files(inputs(), None) == list(FILES)
    assert stale_files(inputs(), {}) == list(FILES)
    assert stale_files(inputs(), {"files": [], "source": {}}) == list(FILES)


def test_nothing_is_stale_when_no_input_changed():
    now = inputs()
    assert stale_files(now, published(now)) == []
    assert stale_files(inputs(), published(now)) == []  # the same inputs read again


def test_a_change_makes_stale_exactly_the_files_computed_from_it():
    before = published(inputs())
    assert stale_files(inputs(items="items-2"), before) == [CATALOGUE]
    assert stale_files(inputs(customers="customers-2"), before) == [ACCOUNTS, LOGINS, RIGHTS]
    assert stale_files(inputs(segments="segments-2"), before) == [ACCOUNTS, LOGINS, RIGHTS]
    assert stale_files(inputs(outbox="1/2026-11-28T04:05:00+00:00/1/0/0/0"), before) == [ORDER_STATUS]
    assert stale_files(inputs(sales_orders="sales_orders-2"), before) == [ORDER_STATUS]
    assert stale_files(inputs(price_list_lines="price_list_lines-2"), before) == [PRICES]
    assert stale_files(inputs(tenant(variant_strategy="comment_field")), before) == [CATALOGUE, RIGHTS, PRICES]
    assert stale_files(inputs(tenant(shop={})), before) == [CATALOGUE, RIGHTS, PRICES]
    assert stale_files(inputs(tenant(sync_every_seconds=600)), before) == []


def test_changes_together_make_stale_the_union_in_file_order():
    before = published(inputs())
    now = inputs(items="items-2", outbox="1/2026-11-28T04:05:00+00:00/1/0/0/0")
    assert stale_files(now, before) == [CATALOGUE, ORDER_STATUS]


def test_a_file_missing_from_the_manifests_file_list_is_stale_though_its_inputs_are_recorded():
    now = inputs()
    manifest = published(now)
    manifest["files"] = [entry for entry in manifest["files"] if entry["name"] != "logins.jsonl"]
    assert LOGINS in manifest["source"][INPUTS_FIELD]
    assert stale_files(now, manifest) == [LOGINS]


def test_a_manifest_without_recorded_inputs_makes_every_file_stale():
    """A manifest written before inputs were recorded: nothing can be proven up to date."""
    manifest = published(inputs())
    manifest["source"] = {"high_water_marks": HIGH_WATER_MARKS}
    assert stale_files(inputs(), manifest) == list(FILES)


# merged_source


def test_merged_source_records_the_written_files_inputs_now_and_keeps_the_others():
    before_inputs = inputs()
    before = published(before_inputs)
    now = inputs(items="items-2", outbox="1/2026-11-28T04:05:00+00:00/1/0/0/0")
    marks = {"items": "2026-11-28T04:35:00.000Z", "customers": None}
    source = merged_source(before, now, [CATALOGUE], marks)
    recorded = source[INPUTS_FIELD]
    assert recorded[CATALOGUE] == file_inputs(now, CATALOGUE) == {"items": "items-2", "config": now["config"]}
    for name in (ACCOUNTS, LOGINS, RIGHTS, ORDER_STATUS):
        assert recorded[name] == file_inputs(before_inputs, name)
    assert recorded[ORDER_STATUS]["outbox"] == "0/-/0/0/0/0"  # not written: still stale
    assert source["high_water_marks"] == marks
    assert stale_files(now, {**before, "source": source}) == [ORDER_STATUS]
    assert before["source"][INPUTS_FIELD][CATALOGUE] == file_inputs(before_inputs, CATALOGUE)  # not mutated


def test_merged_source_of_a_first_publish_records_only_what_was_written():
    now = inputs()
    source = merged_source(None, now, [CATALOGUE, RIGHTS], {})
    assert set(source[INPUTS_FIELD]) == {CATALOGUE, RIGHTS}
    assert source[INPUTS_FIELD][RIGHTS] == {
        "customers": "customers-1",
        "segments": "segments-1",
        "config": config_digest(tenant()),
    }
