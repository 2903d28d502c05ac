"""Partner extensions of kind `python` in a real shop run against the stand-in: the sample package's
`synced_record`, `rights` and `catalogue_line` extensions shape the published files; a failing one
withholds only the lines it was given, named in the catalogue's check and metadata."""

from __future__ import annotations

import pytest

from tests.assets.test_shop import SHOP, Deployment

pytestmark = pytest.mark.slow


def deployment(start_standin, tmp_path, monkeypatch, extensions: str) -> Deployment:
    sonet = start_standin(items=60, lag_seconds=0, late_share=0.0)
    return Deployment(sonet, tmp_path, monkeypatch, shop=SHOP + "\n    extensions:\n" + extensions)


def test_a_shop_run_publishes_what_the_python_extensions_made(start_standin, tmp_path, monkeypatch, partner_extensions):
    extensions = (
        "      synced_record: [{name: acme_item_names}]\n"
        "      rights: [{name: acme_no_restriction}, {name: acme_buyer_limit}]\n"
        "      catalogue_line: [{name: acme_search_keywords}]\n"
    )
    shop = deployment(start_standin, tmp_path, monkeypatch, extensions)
    shop.sync()
    shop.publish()
    lines = shop.records("catalogue")
    assert lines and all(line["acmeKeywords"] == sorted(set(line["name"].lower().split())) for line in lines.values())
    assert not any(line["name"].endswith(" (web)") for line in lines.values())
    rights = shop.records("rights")
    buyers = [row for row in rights.values() if row["role"] == "BUYER" and row["canOrder"]]
    assert buyers and all(row["orderLimit"] == "2000.00" for row in buyers), "the lower limit wins"
    assert all("extension acme_buyer_limit: Acme: buyers order up to 2000.00" in row["note"] for row in buyers)
    others = [row for row in rights.values() if row["role"] != "BUYER"]
    assert others and all("extension" not in (row["note"] or "") for row in others)
    assert {row["orderLimit"] for row in others if row["canOrder"]} - {None, "5000.00"} == set()
    assert "extension_failures" not in shop.metadata["catalogue"]
    assert shop.evaluations["variants_consistent"].passed


def test_a_failing_catalogue_line_extension_is_named_in_the_check(
    start_standin, tmp_path, monkeypatch, partner_extensions
):
    shop = deployment(start_standin, tmp_path, monkeypatch, "      catalogue_line: [{name: acme_raises}]\n")
    shop.sync()
    shop.publish()
    assert shop.records("catalogue") == {}, "every line it was given is withheld"
    metadata = shop.metadata["catalogue"]
    assert metadata["extension_failures"].value > 0
    assert (
        "extension acme_raises: raised RuntimeError: the partner's service is down"
        in metadata["extension_failed"].value
    )
    check = shop.evaluations["variants_consistent"]
    assert not check.passed
    assert "extension acme_raises" in check.metadata["products"].value
    assert shop.records("accounts"), "the other files are published"
