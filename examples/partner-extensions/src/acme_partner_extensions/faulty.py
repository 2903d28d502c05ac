"""Extensions that go wrong on purpose, to show what the core does: the records they were given
fail, named; the rest flow on."""

from __future__ import annotations

import threading
from typing import Any

Batch = list[dict[str, Any]]
#: Set to let `hangs` return (a test sets it after it has seen the timeout).
RELEASE = threading.Event()


def raises(batch: Batch) -> Batch:
    raise RuntimeError("the partner's service is down")


def hangs(batch: Batch) -> Batch:
    RELEASE.wait(600)
    return batch


def drops_a_record(batch: Batch) -> Batch:
    return batch[1:]


def forbidden_key(batch: Batch) -> Batch:
    """Adds a key a sales_order result may not have (and a key a rights result may not have)."""
    return [{**record, "token": "x"} for record in batch]


def fails_one(batch: Batch) -> Batch:
    """Every record unchanged, except that a record whose text mentions FAIL comes back as a string."""
    return [record if "FAIL" not in repr(record) else "not a record" for record in batch]  # type: ignore[misc]


def grants_rights(batch: Batch) -> Batch:
    """rights: tries to allow ordering, which an extension cannot."""
    return [{"canOrder": True} for _ in batch]


def breaks_xsd(batch: Batch) -> Batch:
    """sales_order: an element sales-order.xsd does not know."""
    return [{"xml": record["xml"].replace("</SalesOrder>", "<Unknown>x</Unknown></SalesOrder>")} for record in batch]
