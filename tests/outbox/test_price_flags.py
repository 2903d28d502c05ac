"""A new order taken with price flags keeps them: read back with the message (`outbox list --json`'s
`price_mismatches`), named by its enqueue event, claimed like any other, and pruned with it."""

from __future__ import annotations

from datetime import timedelta

from sonet_pipeline.outbox import PENDING, to_json
from tests.outbox.helpers import T0, TENANT, at, order, state_of

FLAGS = [
    {
        "line": 0,
        "field": "lines[0].unitPrice",
        "sku": "BOOT-PRO-43",
        "given": "59.90",
        "givenCurrency": "EUR",
        "expected": "54.00",
        "expectedCurrency": "EUR",
        "currencyDiffers": False,
        "setBy": "price list P1 line L-7",
        "priceListLine": None,
    }
]


def test_flags_are_kept_with_a_new_message_and_only_with_it(outbox):
    flagged, plain = outbox.enqueue_many(
        TENANT, [order("WEB-1"), order("WEB-2")], actor="intake", now=T0, price_flags=[FLAGS, None]
    )
    assert state_of(outbox, flagged.message_id).price_mismatches == FLAGS
    assert state_of(outbox, plain.message_id).price_mismatches is None
    assert to_json(state_of(outbox, flagged.message_id))["price_mismatches"] == FLAGS
    assert to_json(state_of(outbox, plain.message_id))["price_mismatches"] is None
    [event] = outbox.events(flagged.message_id)
    assert event.reason == "enqueued; price mismatch at lines[0].unitPrice"
    # The same order again is that message: its flags stay as they were.
    [again] = outbox.enqueue_many(TENANT, [order("WEB-1")], actor="intake", now=at(1), price_flags=[None])
    assert (again.message_id, again.created, again.state) == (flagged.message_id, False, PENDING)
    assert state_of(outbox, flagged.message_id).price_mismatches == FLAGS
    claimed = outbox.claim(TENANT, now=at(2), limit=5, owner="run-1", claim_seconds=60)
    assert {m.message_id: m.price_mismatches for m in claimed}[flagged.message_id] == FLAGS


def test_a_pruned_message_takes_its_flags_with_it(outbox):
    [taken] = outbox.enqueue_many(TENANT, [order("WEB-1")], actor="intake", now=T0, price_flags=[FLAGS])
    [_claimed] = outbox.claim(TENANT, now=at(1), limit=1, owner="run-1", claim_seconds=60)
    outbox.mark_sent(taken.message_id, sonet_order_number="SO-1", duplicate=False, actor="run-1", now=at(2))
    assert outbox.prune_settled(TENANT, T0 + timedelta(days=1), now=at(3)) == 1
    assert outbox.get(taken.message_id) is None
    [new] = outbox.enqueue_many(TENANT, [order("WEB-9")], actor="intake", now=at(4))
    assert state_of(outbox, new.message_id).price_mismatches is None
