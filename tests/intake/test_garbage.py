"""No input makes the intake answer 5xx: garbage bodies get a 4xx with the error body.

`hypothesis` is not installed here, so the inputs are a fixed list of nasty cases plus seeded random
bytes and randomly mangled orders (reproducible: the seed is fixed).
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from tests.intake.conftest import order

_rng = random.Random(20261128)


def _mangled() -> list[Any]:
    """Valid orders with one field replaced by a value of a wrong type or shape."""
    odd: list[Any] = [None, True, 0, -1, 1e308, 10**40, "", " ", "x" * 5000, [], {}, [None], {"": None}, "\u0000"]
    out = []
    for _ in range(60):
        made = order()
        target = (
            made if _rng.random() < 0.5 else _rng.choice([made["customer"], made["lines"][0], made["billingAddress"]])
        )
        target[_rng.choice(list(target))] = _rng.choice(odd)
        out.append(made)
    return out


def _garbage_bodies() -> list[bytes]:
    fixed: list[bytes] = [
        b"",
        b" ",
        b"null",
        b"0",
        b'"order"',
        b"[]",
        b"{}",
        b"[[]]",
        b"\xff\xfe\x00",
        b"\xef\xbb\xbf{}",  # a UTF-8 BOM
        b'{"a": NaN}',
        b"[Infinity]",
        b"1" * 5000,  # an integer beyond Python's conversion limit
        b"1e99999",
        b"-" + b"9" * 4000 + b".5",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b'{"orderNumber": "\\ud800"}',
        b'{"\\udfff": 1}',
        b'{"orderNumber": "A\x00B"}',
        json.dumps(order(comment="SURROGATE")).encode().replace(b"SURROGATE", b"\xed\xa0\x80"),  # encoded surrogate
        json.dumps(order(orderNumber="\ud83d\ude00")).encode(),
        json.dumps(
            order(lines=[{"sku": "A", "quantity": "1", "unitPrice": "1", "vatRate": "1", "variant": {"\ud800": "x"}}])
        ).encode(),
        json.dumps(order(customer=[])).encode(),
        json.dumps(order(lines=[order()])).encode(),
        json.dumps(order(lines=[{}] * 1000)).encode(),
        json.dumps(order(createdAt="2026-02-30T10:00:00Z")).encode(),
        json.dumps(order(createdAt="2026-11-28T04:38:00+0200")).encode(),
        json.dumps([order()] * 3).encode(),
    ]
    randoms = [_rng.randbytes(_rng.randint(1, 300)) for _ in range(60)]
    mangled = [json.dumps(made).encode() for made in _mangled()]
    return fixed + randoms + mangled


BODIES = _garbage_bodies()


@pytest.mark.parametrize("route", ["/orders", "/orders/batch"])
def test_no_garbage_body_gets_a_5xx(client, route):
    """Every body of the list, on both routes: never a 5xx; every refusal carries the error body."""
    for index, body in enumerate(BODIES):
        for data in (body, b"[" + body + b"]") if route.endswith("batch") else (body,):
            answer = client.post(route, data=data)
            assert answer.status_code < 500, (index, answer.status_code, answer.text[:200])
            if answer.status_code >= 400:
                assert set(answer.json()["error"]) == {"code", "message", "field"}, index
            elif route.endswith("batch"):
                assert all(entry["status"] < 500 for entry in answer.json())
