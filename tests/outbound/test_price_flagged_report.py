"""A send run reports the orders Sonet accepted that the intake had flagged for prices (Sonet never
checks prices): the send's metadata names each order's lines, the expected price and what set it."""

from __future__ import annotations

import random
from datetime import timedelta

from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.outbound.send_report import SendReport
from sonet_pipeline.outbound.settlement import Settlement
from sonet_pipeline.outbox import open_outbox
from sonet_pipeline.sonet.message import ACCEPTED, SendOutcome
from sonet_pipeline.sonet.retry import RetryPolicy
from tests.outbox.helpers import order

FLAGS = [{"line": 1, "field": "lines[1].unitPrice", "given": "4.15", "expected": "3.90", "setBy": "list price"}]


def test_accepted_flagged_orders_are_in_the_report_and_unflagged_ones_are_not(tmp_path):
    clock = ManualClock()
    with open_outbox(tmp_path / "outbox.sqlite") as outbox:
        outbox.enqueue_many(
            "acme", [order("WEB-1"), order("WEB-2")], actor="intake", now=clock.now(), price_flags=[FLAGS, None]
        )
        claimed = outbox.claim("acme", now=clock.now(), limit=5, owner="run-1", claim_seconds=60)
        settlement = Settlement(
            outbox, "run-1", clock, timedelta(hours=24), RetryPolicy(), random.Random(1), lookup=None
        )
        report = SendReport("acme")
        for number, message in enumerate(claimed):
            settlement.settle(message, SendOutcome(ACCEPTED, 201, sonet_order_number=f"SO-{number}"), report)
    assert report.sent == 2
    assert report.price_flagged == [{"orderNumber": "WEB-1", "lines": FLAGS}]
