"""Items to the shop's catalogue: product types, strategies, hidden counts, conflicts, determinism."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from sonet_pipeline.config.shop import ShopConfig
from sonet_pipeline.shop.catalogue import COUNT_KEYS, MAX_OPTION_COMBINATIONS, VariantConflict, build_catalogue
from sonet_pipeline.standin.seed_data import BOOT_PRO_SIZES, generate_company
from sonet_pipeline.store.records import format_instant

GLOVE_SIZES = ["7", "8", "9", "10", "11"]
GLOVES_OPTIONS = ShopConfig.model_validate(
    {"options": [{"product_group": "GLOVES", "axes": [{"name": "Size", "values": GLOVE_SIZES}]}]}
)


def item(code: str, **fields: Any) -> dict[str, Any]:
    """An item in the contract's GraphQL shape; `attributes` is a short form of variantAttributes."""
    attributes = fields.pop("attributes", {})
    record = {
        "itemCode": code,
        "name": f"Name of {code}",
        "description": None,
        "modelCode": None,
        "modelName": None,
        "variantAttributes": [{"name": n, "value": v} for n, v in attributes.items()],
        "productGroup": "TOOLS",
        "unit": "pcs",
        "ean": None,
        "listPrice": "10.00",
        "currency": "EUR",
        "vatRate": "25.5",
        "stockBalance": "3",
        "webVisible": True,
        "status": "ACTIVE",
        "dateModified": "2025-06-01T12:00:00.000Z",
    }
    record.update(fields)
    return record


def variant(code: str, model: str = "M1", **fields: Any) -> dict[str, Any]:
    return item(code, **{"modelCode": model, "modelName": f"Model {model}", "productGroup": "FOOTWEAR", **fields})


def build(items: list[dict[str, Any]], strategy: str = "item_per_variant", shop: ShopConfig | None = None):
    return build_catalogue(items, strategy=strategy, shop=shop or ShopConfig())  # type: ignore[arg-type]


def by_sku(catalogue) -> dict[str, dict[str, Any]]:
    return {product["sku"]: product for product in catalogue.products}


def counts(**nonzero: int) -> dict[str, int]:
    return {key: nonzero.get(key, 0) for key in COUNT_KEYS}


# --- product types -------------------------------------------------------------------------------


def test_simple_product_line():
    catalogue = build([item("HAMMER-1", description="Iso & <vahva> 🔨", ean="6412345678903", listPrice=None)])
    assert catalogue.products == [
        {
            "sku": "HAMMER-1",
            "type": "simple",
            "name": "Name of HAMMER-1",
            "description": "Iso & <vahva> 🔨",
            "productGroup": "TOOLS",
            "unit": "pcs",
            "currency": "EUR",
            "vatRate": "25.5",
            "price": None,
            "stock": "3",
            "ean": "6412345678903",
            "itemCode": "HAMMER-1",
            "axes": [],
            "variants": [],
            "sourceModified": "2025-06-01T12:00:00.000Z",
        }
    ]
    assert catalogue.counts == counts(simple=1)
    assert catalogue.conflicts == []


def test_model_becomes_configurable_with_sorted_variants():
    items = [
        variant(
            "M1-43",
            attributes={"Size": "43"},
            listPrice="61.00",
            stockBalance="2",
            dateModified="2025-06-03T00:00:00.000Z",
        ),
        variant("M1-41", attributes={"Size": "41"}, listPrice="59.90", stockBalance="0.5", ean="6400000000017"),
        variant("M1-42", attributes={"Size": "42"}, listPrice=None, stockBalance="1"),
        variant("M1-40", attributes={"Size": "40"}, status="PASSIVE", dateModified="2025-07-01T00:00:00.000Z"),
    ]
    catalogue = build(items)
    [product] = catalogue.products
    assert product["sku"] == "M1" and product["type"] == "configurable" and product["name"] == "Model M1"
    assert product["axes"] == ["Size"] and product["itemCode"] is None and product["ean"] is None
    assert [v["sku"] for v in product["variants"]] == ["M1-41", "M1-42", "M1-43"]
    assert product["variants"][0] == {
        "sku": "M1-41",
        "type": "variant",
        "itemCode": "M1-41",
        "name": "Name of M1-41",
        "attributes": [{"name": "Size", "value": "41"}],
        "price": "59.90",
        "stock": "0.5",
        "ean": "6400000000017",
    }
    assert product["price"] == "59.90"  # the lowest variant price
    assert product["stock"] == "3.5"
    assert product["sourceModified"] == "2025-07-01T00:00:00.000Z"  # the hidden variant's change counts
    assert catalogue.counts == counts(configurable=1, variant=3, hidden_passive=1)


def test_model_name_falls_back_to_first_variant_name_and_axes_keep_their_order():
    items = [
        variant("M1-B", modelName=None, attributes={"Colour": "Blue", "Size": "L"}),
        variant("M1-A", modelName=None, attributes={"Colour": "Red", "Size": "L"}, name="Takki punainen"),
    ]
    [product] = build(items).products
    assert product["name"] == "Takki punainen"
    assert product["axes"] == ["Colour", "Size"]


def test_attribute_order_differing_between_variants_is_no_conflict():
    items = [variant("M1-A", attributes={"Colour": "Red", "Size": "L"})]
    items.append(
        variant("M1-B", variantAttributes=[{"name": "Size", "value": "M"}, {"name": "Colour", "value": "Red"}])
    )
    catalogue = build(items)
    assert catalogue.conflicts == []
    assert [v["attributes"] for v in catalogue.products[0]["variants"]][1] == [
        {"name": "Colour", "value": "Red"},
        {"name": "Size", "value": "M"},
    ]


def test_model_without_visible_variant_is_not_published():
    items = [variant("M1-40", attributes={"Size": "40"}, webVisible=False), variant("M1-41", status="DELETED")]
    catalogue = build(items)
    assert catalogue.products == []
    assert catalogue.counts == counts(hidden_not_web_visible=1, hidden_deleted=1)


# --- variant strategies and declared options ------------------------------------------------------


def test_comment_field_tenant_makes_option_variants_for_declared_group():
    glove = item("GLOVE-WORK", productGroup="GLOVES", listPrice="4.15", stockBalance="80", ean="6400000000024")
    catalogue = build([glove, item("HAMMER-1")], strategy="comment_field", shop=GLOVES_OPTIONS)
    product = by_sku(catalogue)["GLOVE-WORK"]
    assert product["type"] == "configurable" and product["axes"] == ["Size"] and product["itemCode"] is None
    assert (product["price"], product["stock"], product["ean"]) == ("4.15", "80", "6400000000024")
    assert [v["sku"] for v in product["variants"]] == [f"GLOVE-WORK/{size}" for size in GLOVE_SIZES]
    assert product["variants"][0] == {
        "sku": "GLOVE-WORK/7",
        "type": "option",
        "itemCode": "GLOVE-WORK",
        "name": "Name of GLOVE-WORK, Size 7",
        "attributes": [{"name": "Size", "value": "7"}],
        "price": "4.15",
        "stock": "80",
        "ean": "6400000000024",
    }
    assert by_sku(catalogue)["HAMMER-1"]["type"] == "simple"  # no options declared for TOOLS
    assert catalogue.counts == counts(simple=1, configurable=1, option=5)


def test_group_override_and_cartesian_product_in_declared_order():
    shop = ShopConfig.model_validate(
        {
            "variant_strategy_by_group": {"GLOVES": "comment_field"},
            "options": [
                {
                    "product_group": "GLOVES",
                    "axes": [
                        {"name": "Size", "values": ["9", "8"]},
                        {"name": "Colour", "values": ["Musta", "Keltainen"]},
                    ],
                },
                {"product_group": "TOOLS", "axes": [{"name": "Size", "values": ["S", "M"]}]},
            ],
        }
    )
    catalogue = build([item("GLOVE-WORK", productGroup="GLOVES"), item("HAMMER-1")], "item_per_variant", shop)
    glove = by_sku(catalogue)["GLOVE-WORK"]
    assert glove["axes"] == ["Size", "Colour"]
    assert [v["sku"] for v in glove["variants"]] == [
        "GLOVE-WORK/9/Musta",
        "GLOVE-WORK/9/Keltainen",
        "GLOVE-WORK/8/Musta",
        "GLOVE-WORK/8/Keltainen",
    ]
    assert glove["variants"][1]["attributes"] == [
        {"name": "Size", "value": "9"},
        {"name": "Colour", "value": "Keltainen"},
    ]
    assert by_sku(catalogue)["HAMMER-1"]["type"] == "simple"  # TOOLS keeps the tenant's item_per_variant
    assert catalogue.counts == counts(simple=1, configurable=1, option=4, options_ignored=1)


def test_item_entry_wins_over_its_group_entry():
    shop = ShopConfig.model_validate(
        {
            "options": [
                {"product_group": "GLOVES", "axes": [{"name": "Size", "values": GLOVE_SIZES}]},
                {"item": "GLOVE-KIDS", "axes": [{"name": "Size", "values": ["4", "5"]}]},
            ]
        }
    )
    catalogue = build(
        [item("GLOVE-KIDS", productGroup="GLOVES"), item("GLOVE-WORK", productGroup="GLOVES")], "comment_field", shop
    )
    products = by_sku(catalogue)
    assert [v["sku"] for v in products["GLOVE-KIDS"]["variants"]] == ["GLOVE-KIDS/4", "GLOVE-KIDS/5"]
    assert len(products["GLOVE-WORK"]["variants"]) == 5


def test_options_are_ignored_under_item_per_variant_and_for_model_items():
    items = [
        item("GLOVE-WORK", productGroup="GLOVES"),
        variant("GLOVE-M-8", model="GLOVE-M", productGroup="GLOVES", attributes={"Size": "8"}),
        item("GLOVE-OLD", productGroup="GLOVES", status="PASSIVE"),  # hidden: nothing to ignore
    ]
    plain = build(items, "item_per_variant", GLOVES_OPTIONS)
    assert by_sku(plain)["GLOVE-WORK"]["type"] == "simple"
    assert plain.counts == counts(simple=1, configurable=1, variant=1, hidden_passive=1, options_ignored=2)
    options = build(items, "comment_field", GLOVES_OPTIONS)
    assert [v["type"] for v in by_sku(options)["GLOVE-M"]["variants"]] == ["variant"]  # a model keeps its variants
    assert options.counts == counts(configurable=2, variant=1, option=5, hidden_passive=1, options_ignored=1)


def test_option_skus_stay_unique_when_values_hold_slashes():
    shop = ShopConfig.model_validate(
        {
            "options": [
                {"item": "X", "axes": [{"name": "A", "values": ["a/b", "a"]}, {"name": "B", "values": ["c", "b/c"]}]}
            ]
        }
    )
    [product] = build([item("X")], "comment_field", shop).products
    skus = [v["sku"] for v in product["variants"]]
    assert skus == ["X/a%2Fb/c", "X/a%2Fb/b%2Fc", "X/a/c", "X/a/b%2Fc"]


def test_too_many_option_combinations_withhold_the_item():
    values = [str(n) for n in range(int(MAX_OPTION_COMBINATIONS**0.5) + 1)]
    axes = [{"name": "A", "values": values}, {"name": "B", "values": values}]
    shop = ShopConfig.model_validate({"options": [{"item": "X", "axes": axes}]})
    catalogue = build([item("X"), item("Y")], "comment_field", shop)
    assert [p["sku"] for p in catalogue.products] == ["Y"]
    assert [(c.model_code, c.item_codes) for c in catalogue.conflicts] == [("X", ("X",))]
    assert catalogue.counts["withheld_conflict"] == 1


# --- hidden items --------------------------------------------------------------------------------


def test_hidden_items_are_counted_by_reason():
    items = [
        item("A", status="PASSIVE"),
        item("B", status="DELETED", webVisible=False),
        item("C", status="DELETED"),
        item("D", webVisible=False),
        item("E", status="PASSIVE", webVisible=False),
        item("F"),
    ]
    catalogue = build(items)
    assert [p["sku"] for p in catalogue.products] == ["F"]
    assert catalogue.counts == counts(simple=1, hidden_passive=2, hidden_deleted=2, hidden_not_web_visible=1)


# --- conflicts -----------------------------------------------------------------------------------


def test_each_conflict_kind_withholds_its_model_and_the_rest_publishes():
    items = [
        variant("DUP-1", model="DUP", attributes={"Size": "43"}),
        variant("DUP-2", model="DUP", attributes={"Size": "43"}),
        variant("DUP-3", model="DUP", attributes={"Size": "44"}),
        variant("BARE-1", model="BARE", attributes={"Size": "40"}),
        variant("BARE-2", model="BARE"),
        variant("AXES-1", model="AXES", attributes={"Size": "M"}),
        variant("AXES-2", model="AXES", attributes={"Colour": "Red", "Size": "L"}),
        variant("OK-1", model="OK", attributes={"Size": "40"}),
        item("HAMMER-1"),
    ]
    catalogue = build(items)
    assert catalogue.conflicts == [
        VariantConflict("AXES", "axes differ: [Colour, Size] vs [Size]", ("AXES-1", "AXES-2")),
        VariantConflict("BARE", "variant without attributes", ("BARE-2",)),
        VariantConflict("DUP", "2 variants share Size=43", ("DUP-1", "DUP-2")),
    ]
    assert [p["sku"] for p in catalogue.products] == ["HAMMER-1", "OK"]
    assert catalogue.counts == counts(simple=1, configurable=1, variant=1, withheld_conflict=3)


def test_repeated_attribute_name_is_a_conflict():
    items = [
        variant("M1-1", variantAttributes=[{"name": "Size", "value": "8"}, {"name": "Size", "value": "9"}]),
        variant("M1-2", variantAttributes=[{"name": "Size", "value": "8"}, {"name": "Size", "value": "10"}]),
    ]
    catalogue = build(items)
    assert catalogue.products == []
    assert catalogue.conflicts == [VariantConflict("M1", "variant repeats an attribute name", ("M1-1", "M1-2"))]


def test_hidden_variants_cause_no_conflict():
    items = [
        variant("M1-43", attributes={"Size": "43"}),
        variant("M1-43-OLD", attributes={"Size": "43"}, status="PASSIVE"),
        variant("M1-X", webVisible=False),
        variant("M1-C", attributes={"Colour": "Red"}, status="DELETED"),
    ]
    catalogue = build(items)
    assert catalogue.conflicts == []
    assert [v["sku"] for v in catalogue.products[0]["variants"]] == ["M1-43"]


def test_a_model_whose_sku_is_taken_by_an_item_is_withheld():
    items = [
        item("BOOT"),
        variant("BOOT-41", model="BOOT", attributes={"Size": "41"}),
        variant("SELF", model="SELF", attributes={"Size": "1"}),
    ]
    catalogue = build(items)
    assert [p["sku"] for p in catalogue.products] == ["BOOT"]
    assert by_sku(catalogue)["BOOT"]["type"] == "simple"
    assert catalogue.conflicts == [
        VariantConflict("BOOT", "sku used more than once: BOOT", ("BOOT", "BOOT-41")),
        VariantConflict("SELF", "sku used more than once: SELF", ("SELF",)),  # the model's code is its item's
    ]
    assert catalogue.counts == counts(simple=1, withheld_conflict=2)


# --- robustness and determinism -------------------------------------------------------------------


def test_same_items_in_any_order_give_identical_catalogues():
    items = [
        *(variant(f"M1-{s}", attributes={"Size": s}) for s in ("40", "41", "42")),
        *(variant(f"M2-{s}", model="M2", attributes={"Size": "1"}) for s in ("a", "b")),
        item("GLOVE-WORK", productGroup="GLOVES"),
        item("HAMMER-1"),
        item("HAMMER-2", status="PASSIVE"),
    ]
    first = build(items, "comment_field", GLOVES_OPTIONS)
    shuffled = items[:]
    for seed in range(5):
        random.Random(seed).shuffle(shuffled)
        again = build(shuffled, "comment_field", GLOVES_OPTIONS)
        assert json.dumps(again.products) == json.dumps(first.products)
        assert again.conflicts == first.conflicts and again.counts == first.counts


def test_odd_data_never_raises_and_stays_json_ready():
    items: list[Any] = [
        item(
            "NULLS",
            name=None,
            unit=None,
            listPrice=None,
            vatRate=None,
            stockBalance=None,
            productGroup=None,
            dateModified=None,
            variantAttributes=None,
            webVisible=True,
        ),
        item("ODD-TYPES", listPrice=12.5, stockBalance=7, vatRate=None, name='😀 "quoted" <b>&amp;</b>\u0301'),
        variant("M1-1", attributes={"Size": None}, listPrice="NaN", stockBalance="lots"),
        variant(
            "M1-2",
            variantAttributes=[None, "x", {"name": "Size", "value": 2}, {"name": " ", "value": "z"}],
            listPrice="Infinity",
            stockBalance="-1",
        ),
        variant("M2-1", model="M2", attributes={"Size": "1"}, stockBalance="9e999999"),
        variant("M2-2", model="M2", attributes={"Size": "2"}, stockBalance="9e999999"),
        item("DUPLICATE", name="older", dateModified="2025-01-01T00:00:00.000Z"),
        item("DUPLICATE", name="newer", dateModified="2025-02-01T00:00:00.000Z"),
        item("", name="no code"),
        item(None),  # type: ignore[arg-type]
        "not a record",
        item("NO-STATUS", status=None, webVisible="true"),
        item("EMPTY-MODEL", modelCode=""),
    ]
    catalogue = build(items, "comment_field", GLOVES_OPTIONS)
    products = by_sku(catalogue)
    assert sorted(products) == ["DUPLICATE", "EMPTY-MODEL", "M1", "M2", "NULLS", "ODD-TYPES"]
    assert products["M2"]["stock"] is None  # the sum overflows
    assert products["NULLS"]["name"] == "NULLS" and products["NULLS"]["sourceModified"] is None
    assert (products["ODD-TYPES"]["price"], products["ODD-TYPES"]["stock"]) == ("12.5", "7")
    assert products["DUPLICATE"]["name"] == "newer"
    assert products["M1"]["price"] is None and products["M1"]["stock"] == "-1"
    assert [v["attributes"] for v in products["M1"]["variants"]] == [
        [{"name": "Size", "value": ""}],
        [{"name": "Size", "value": "2"}],
    ]
    assert catalogue.counts["hidden_not_web_visible"] == 1
    assert json.loads(json.dumps(catalogue.products)) == catalogue.products


def test_empty_input_has_every_count():
    catalogue = build([])
    assert catalogue.products == [] and catalogue.conflicts == []
    assert catalogue.counts == counts()


# --- the stand-in's data --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def standin_items() -> list[dict[str, Any]]:
    return [{**i, "dateModified": format_instant(i["dateModified"])} for i in generate_company(7, items=3000).items]


@pytest.mark.parametrize("strategy", ["item_per_variant", "comment_field"])
def test_standin_company(standin_items, strategy):
    catalogue = build(standin_items, strategy, GLOVES_OPTIONS)
    products = by_sku(catalogue)
    assert len(products) == len(catalogue.products)  # skus are unique
    boots = products["BOOT-PRO"]
    assert boots["type"] == "configurable" and boots["name"] == "Turvakenkä Pro S3" and boots["axes"] == ["Size"]
    assert [v["attributes"] for v in boots["variants"]] == [[{"name": "Size", "value": s}] for s in BOOT_PRO_SIZES]
    assert [v["sku"] for v in boots["variants"]] == [f"BOOT-PRO-{s}" for s in BOOT_PRO_SIZES]
    assert "44" not in {v["attributes"][0]["value"] for v in boots["variants"]}
    glove = products["GLOVE-WORK"]
    if strategy == "item_per_variant":
        assert glove["type"] == "simple" and glove["variants"] == [] and glove["itemCode"] == "GLOVE-WORK"
        assert catalogue.counts["options_ignored"] > 0 and catalogue.counts["option"] == 0
    else:
        assert glove["type"] == "configurable"
        assert [(v["type"], v["itemCode"], v["price"]) for v in glove["variants"]] == [
            ("option", "GLOVE-WORK", "4.15")
        ] * 5
    counted = catalogue.counts
    hidden = counted["hidden_passive"] + counted["hidden_deleted"] + counted["hidden_not_web_visible"]
    assert counted["hidden_passive"] and counted["hidden_deleted"] and counted["hidden_not_web_visible"]
    optioned = sum(1 for p in catalogue.products if p["variants"] and p["variants"][0]["type"] == "option")
    assert catalogue.conflicts == []
    assert counted["simple"] + counted["variant"] + optioned + hidden == len(standin_items)  # every item once
    assert json.loads(json.dumps(catalogue.products)) == catalogue.products
