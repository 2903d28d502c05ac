"""How often the simulated web shop orders (webshop/pace.py): the rate, the refused ones, the bursts."""

from __future__ import annotations

import pytest

from sonet_pipeline.webshop.order_builder import REFUSED_AT_DOOR, REFUSED_BY_SONET, VALID
from sonet_pipeline.webshop.pace import MAX_CATCH_UP, Pace, Schedule


def test_every_nth_order_is_meant_to_be_refused_by_sonet_and_at_the_door_in_turn():
    pace = Pace(refuse_every=3)
    kinds = [pace.kind(n) for n in range(1, 13)]
    assert kinds == [VALID, VALID, REFUSED_BY_SONET, VALID, VALID, REFUSED_AT_DOOR] * 2
    assert {Pace(refuse_every=0).kind(n) for n in range(1, 50)} == {VALID}


def test_orders_come_at_the_rate_from_the_start():
    schedule = Schedule(Pace(orders_per_minute=6), start=100.0)
    assert schedule.due(100.0) == (1, 0)
    assert schedule.due(105.0) == (0, 0)
    assert schedule.wait(105.0, longest=60) == pytest.approx(5.0)
    assert schedule.due(110.0) == (1, 0)
    assert schedule.due(130.5) == (2, 0)  # 120 and 130 were due


def test_after_a_stall_it_catches_up_only_a_few_and_keeps_the_rhythm():
    schedule = Schedule(Pace(orders_per_minute=60), start=0.0)
    assert schedule.due(0.0) == (1, 0)
    assert schedule.due(100.2) == (MAX_CATCH_UP, 0)
    assert schedule.due(100.5) == (0, 0)
    assert schedule.due(101.0) == (1, 0)


def test_a_burst_comes_every_interval_with_its_size():
    schedule = Schedule(Pace(orders_per_minute=0, burst=25, burst_every_seconds=60), start=0.0)
    assert schedule.due(0.0) == (0, 0)
    assert schedule.wait(0.0, longest=600) == 60
    assert schedule.due(60.0) == (0, 25)
    assert schedule.due(119.0) == (0, 0)
    assert schedule.due(250.0) == (0, 25)  # one burst for the ones missed, then every 60 s again
    assert schedule.wait(250.0, longest=600) == pytest.approx(50.0)


def test_no_rate_and_no_burst_never_orders_and_bad_values_are_refused():
    schedule = Schedule(Pace(orders_per_minute=0), start=0.0)
    assert schedule.due(10_000.0) == (0, 0)
    assert schedule.wait(10_000.0, longest=1.0) == 1.0
    with pytest.raises(ValueError):
        Pace(orders_per_minute=-1)
    with pytest.raises(ValueError):
        Pace(burst=5, burst_every_seconds=0)
