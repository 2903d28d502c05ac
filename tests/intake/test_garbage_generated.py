"""No generated input makes the intake answer 5xx (hypothesis; skipped where it is not installed)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.intake.conftest import EXAMPLE  # noqa: E402

_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(
    _scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=12
)
#: Where in a valid order a generated value is put.
PLACES: list[tuple[str | int, ...]] = [
    ("orderNumber",),
    ("createdAt",),
    ("currency",),
    ("customer",),
    ("customer", "kind"),
    ("customer", "customerNumber"),
    ("billingAddress",),
    ("billingAddress", "countryCode"),
    ("lines",),
    ("lines", 0),
    ("lines", 0, "quantity"),
    ("lines", 0, "unitPrice"),
    ("lines", 1, "variant"),
    ("lines", 1, "variant", "Size"),
    ("comment",),
    ("extra",),
]


def _with(place: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    order = copy.deepcopy(EXAMPLE)
    target: Any = order
    for key in place[:-1]:
        target = target[key]
    target[place[-1]] = value
    return order


def _check(answer: Any) -> None:
    assert answer.status_code < 500, answer.text[:300]
    body = answer.json()
    if answer.status_code >= 400:
        assert set(body["error"]) == {"code", "message", "field"}
    elif isinstance(body, list):
        assert all(entry["status"] < 500 for entry in body)


_settings = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_settings
@given(place=st.sampled_from(PLACES), value=json_values)
def test_a_valid_order_with_any_value_anywhere_gets_no_5xx(client, place, value):
    """A valid order with any JSON value put at one of its fields: accepted or refused, never a 5xx."""
    order = _with(place, value)
    order["orderNumber"] = order["orderNumber"] if place != ("orderNumber",) else value
    _check(client.post("/orders", data=json.dumps(order).encode()))


@_settings
@given(body=st.binary(max_size=400) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_bytes_on_either_route_get_no_5xx(client, body):
    """Arbitrary bytes or JSON documents, on the single and the batch route: never a 5xx."""
    _check(client.post("/orders", data=body))
    _check(client.post("/orders/batch", data=body))
