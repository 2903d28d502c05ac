"""`prices.jsonl` end to end: the stand-in's seeded price lists, synced, published by the shop run.

Each list's items with the breaks in force at the publish (the shop run's clock) and those to come
within the tenant's horizon; a change of a price list line republishes that file alone.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from dagster import SkipReason

from sonet_pipeline.standin.seed_price_lists import LISTS
from tests.assets.test_shop import Deployment, files_of

pytestmark = pytest.mark.slow


@pytest.fixture
def deployment(start_standin, tmp_path, monkeypatch) -> Deployment:
    sonet = start_standin(items=400, lag_seconds=0, late_share=0.0)
    return Deployment(sonet, tmp_path, monkeypatch)


def prices(deployment: Deployment) -> dict[tuple[str, str], dict[str, Any]]:
    text = (deployment.folder / "prices.jsonl").read_text(encoding="utf-8")
    return {(r["priceListCode"], r["itemCode"]): r for r in map(json.loads, text.splitlines())}


def now_breaks(record: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [(b["minQuantity"], b["price"], b["currency"], b["lineId"]) for b in record["periods"][0]["breaks"]]


def test_the_first_publish_lists_every_seeded_list_with_the_breaks_in_force(deployment):
    deployment.sync()
    request = deployment.publish()
    assert "prices" in files_of(request)
    published = prices(deployment)
    assert {code for code, _ in published} >= {price_list.code for price_list in LISTS}
    assert now_breaks(published["PL-RAKENNUS", "BOOT-PRO-43"]) == [
        ("1", "52.90", "EUR", "PLL-0000001"),  # the expired campaign (PLL-0000003) is gone, the 2028 price to come
        ("10", "49.90", "EUR", "PLL-0000002"),
    ]
    assert len(published["PL-RAKENNUS", "BOOT-PRO-43"]["periods"]) == 1  # the future price is beyond a week
    assert now_breaks(published["PL-EXPORT", "BOOT-PRO-43"]) == [("1", "689.00", "SEK", "PLL-0000007")]
    assert now_breaks(published["PL-RESELLER", "GLOVE-WORK"])[0][3] == "PLL-0000006"  # a tie: the greater lineId

    figures = deployment.metadata["prices"]
    assert figures["records"].value == len(published) == figures["items_priced"].value
    next_change = deployment.manifest()["source"]["next_change"]["prices"]
    assert next_change is not None and figures["next_change"].value == next_change
    # The seed's next-but-one year's prices (2028-01-01) enter the week's horizon then.
    assert next_change == "2027-12-25T00:00:00.000Z"
    assert isinstance(deployment.tick(), SkipReason)  # up to date


def test_a_price_list_change_republishes_the_prices_alone(deployment):
    deployment.sync()
    deployment.publish()
    before = (deployment.folder / "catalogue.jsonl").stat().st_mtime_ns
    deployment.sonet.change("priceListLines", [{"lineId": "PLL-0000001", "price": "50.90"}])
    deployment.sonet.advance(1)
    deployment.sync()
    request = deployment.publish()
    assert files_of(request) == {"prices"}
    assert now_breaks(prices(deployment)["PL-RAKENNUS", "BOOT-PRO-43"])[0][1] == "50.90"
    assert (deployment.folder / "catalogue.jsonl").stat().st_mtime_ns == before
