"""The ERP activity on price lists: prices agreed anew, new lines and breaks, lines ended, passivated and
deleted, each a whole new version stamped now; the special lines are left alone."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.standin import activity
from sonet_pipeline.standin.boot import build_standin
from sonet_pipeline.standin.price_list_activity import PROTECTED_LINES
from sonet_pipeline.standin.runtime import CompanyConfig, StandinConfig

START = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def test_random_changes_change_price_lists_and_keep_their_formats():
    """Among a realistic mix, every kind of price list change happens; each line written is a whole
    line stamped now, prices with 2 decimals, an ended line's validTo now; no special line changes."""
    clock = ManualClock(START)
    standin = build_standin(StandinConfig(companies=[CompanyConfig("C1", "t", seed=7, items=1500)]), clock)
    company = standin.companies["C1"]
    before = {line["lineId"]: line for line in company.state.snapshot("priceListLines")}
    clock.advance(10)
    kinds = Counter(activity.random_changes(standin, company, 1500, random.Random(5)))
    assert {"line_price", "line_new", "line_ended", "line_passivated", "line_deleted"} <= set(kinds)
    after = {line["lineId"]: line for line in company.state.snapshot("priceListLines")}
    changed = {key: line for key, line in after.items() if line != before.get(key)}
    assert len(changed) >= kinds["line_price"] // 2 and len(after) - len(before) == kinds["line_new"]
    for line in changed.values():
        assert line["dateModified"] >= START and set(line) == set(next(iter(before.values())))
        assert Decimal(line["price"]).as_tuple().exponent == -2
        assert line["validTo"] is None or line["validTo"] <= clock.now()
    assert any(line["validTo"] == line["dateModified"] for line in changed.values())
    assert not PROTECTED_LINES & set(changed)


def test_a_bulk_update_of_the_lines_raises_their_prices_at_one_stamp():
    """`bulk_update` on priceListLines raises `price`, one millisecond for all, special lines left alone."""
    clock = ManualClock(START)
    standin = build_standin(StandinConfig(companies=[CompanyConfig("C1", "t", seed=7, items=1500)]), clock)
    company = standin.companies["C1"]
    clock.advance(1)
    assert activity.bulk_update(standin, company, "priceListLines", 1000, percent="-2") == 1000
    stamped = [line for line in company.state.snapshot("priceListLines") if line["dateModified"] >= START]
    assert len(stamped) == 1000 and len({line["dateModified"] for line in stamped}) == 1
    assert not PROTECTED_LINES & {line["lineId"] for line in stamped}


def test_price_list_changes_survive_a_restart_with_their_validity(tmp_path):
    """With a state file, the lines changed by the activity (an end set now, prices, new lines) come back
    after a restart exactly as they were, validFrom and validTo as instants."""
    state_file = str(tmp_path / "standin.jsonl")

    def start():
        settings = StandinConfig(companies=[CompanyConfig("C1", "t", seed=7, items=800)], state_file=state_file)
        return build_standin(settings, ManualClock(START))

    standin = start()
    company = standin.companies["C1"]
    kinds = activity.random_changes(standin, company, 600, random.Random(3))
    assert kinds.get("line_ended") and kinds.get("line_new")
    before = list(company.state.snapshot("priceListLines"))
    standin.change_log.close()  # type: ignore[union-attr]
    after = list(start().companies["C1"].state.snapshot("priceListLines"))
    assert after == before
    assert any(isinstance(line["validTo"], datetime) for line in after)
