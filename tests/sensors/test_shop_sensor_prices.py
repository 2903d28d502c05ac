"""The shop sensor republishes `prices.jsonl` when a price comes into force, though Sonet changed nothing.

A campaign synced days ahead is listed as a period to come; the manifest records the instant the file
goes stale. On the injected clock: before that instant the sensor asks for nothing; at it, it asks for
the prices alone, and the new file has the campaign's price as "now".
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from dagster import RunRequest, SkipReason

from sonet_pipeline.prices.lines import instant_text
from tests.assets.test_shop import Deployment, files_of

pytestmark = pytest.mark.slow

LIST, ITEM = "PL-RAKENNUS", "BOOT-PRO-43"


@pytest.fixture
def deployment(start_standin, tmp_path, monkeypatch) -> Deployment:
    sonet = start_standin(items=200, lag_seconds=0, late_share=0.0)
    return Deployment(sonet, tmp_path, monkeypatch)


def boots(deployment: Deployment) -> list[dict]:
    text = (deployment.folder / "prices.jsonl").read_text(encoding="utf-8")
    record = next(r for r in map(json.loads, text.splitlines()) if (r["priceListCode"], r["itemCode"]) == (LIST, ITEM))
    return record["periods"]


def test_at_the_campaigns_start_the_sensor_republishes_the_prices_with_the_campaign_price_as_now(deployment):
    sonet = deployment.sonet
    start, end = sonet.clock.now() + timedelta(days=2), sonet.clock.now() + timedelta(days=5)
    campaign = {
        "lineId": "PLL-CAMPAIGN",
        "priceListCode": LIST,
        "itemCode": ITEM,
        "price": "39.90",
        "currency": "EUR",
        "minQuantity": "1",
        "validFrom": instant_text(start),
        "validTo": instant_text(end),
        "status": "ACTIVE",
    }
    sonet.change("priceListLines", [campaign])
    sonet.advance(1)
    deployment.sync()
    deployment.publish()
    now, coming, after = boots(deployment)
    assert now["breaks"][0]["price"] == "52.90" and now["validTo"] == instant_text(start)
    assert coming["breaks"][0]["price"] == "39.90" and (coming["validFrom"], coming["validTo"]) == (
        instant_text(start),
        instant_text(end),
    )
    assert after["breaks"][0]["price"] == "52.90"
    assert deployment.manifest()["source"]["next_change"] == {"prices": instant_text(start)}
    stamps = {p.name: p.stat().st_mtime_ns for p in deployment.folder.glob("*.jsonl")}

    sonet.advance((start - sonet.clock.now()).total_seconds() - 1)  # a second before: nothing to publish
    assert isinstance(deployment.tick(), SkipReason)

    sonet.advance(1)  # the instant the campaign comes into force
    assert sonet.clock.now() == start
    request = deployment.publish()
    assert isinstance(request, RunRequest) and files_of(request) == {"prices"}
    now, after = boots(deployment)
    assert (now["validFrom"], now["validTo"]) == (None, instant_text(end))
    assert [(b["price"], b["lineId"]) for b in now["breaks"]] == [("39.90", "PLL-CAMPAIGN"), ("49.90", "PLL-0000002")]
    assert deployment.manifest()["source"]["next_change"] == {"prices": instant_text(end)}
    changed = {p.name for p in deployment.folder.glob("*.jsonl") if p.stat().st_mtime_ns != stamps[p.name]}
    assert changed == {"prices.jsonl"}
    assert isinstance(deployment.tick(), SkipReason)  # up to date until the campaign ends

    sonet.advance((end - sonet.clock.now()).total_seconds())
    assert files_of(deployment.publish()) == {"prices"}
    assert boots(deployment)[0]["breaks"][0]["price"] == "52.90"  # the campaign is over
