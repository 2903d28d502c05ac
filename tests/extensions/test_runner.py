"""A chain applied to a batch: each extension's effect, and its failures confined to its records."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from sonet_pipeline.extensions.chains import TenantChains
from sonet_pipeline.extensions.extension import Extension, ExtensionFailed, ExtensionSpec
from sonet_pipeline.extensions.kinds import build_extension, register_kind
from sonet_pipeline.extensions.points import CATALOGUE_LINE, POINTS, RIGHTS, SALES_ORDER, WEB_ORDER
from sonet_pipeline.extensions.python_kind import PythonExtension
from sonet_pipeline.extensions.runner import Link, run_chain
from sonet_pipeline.extensions.schemas import PAYLOAD, RESULT, schema


def link(function: Any, point: str = CATALOGUE_LINE, name: str = "ext", timeout: float = 5) -> Link:
    return Link(PythonExtension(name, point, function), timeout)


def login_facts(login: str) -> dict[str, Any]:
    """What the rights point is given of one login (its payload schema): account 1, nothing else known."""
    return {
        "login": login,
        "accountId": "1",
        "accountName": None,
        "segments": [],
        "customerTypes": [],
        "role": None,
        "orderBlocked": False,
    }


LINES = [{"sku": "A", "name": "Red Shoe"}, {"sku": "B", "name": "Blue Hat"}, {"sku": "C", "name": "FAIL"}]


def test_a_chain_applies_its_extensions_in_order():
    """Each extension sees what the one before returned."""
    first = link(lambda batch: [{**r, "n": 1} for r in batch], name="one")
    second = link(lambda batch: [{**r, "n": r["n"] + 1} for r in batch], name="two")
    assert [r["n"] for r in run_chain(CATALOGUE_LINE, [first, second], LINES)] == [2, 2, 2]


def test_the_extension_gets_a_copy_never_the_cores_records():
    """An extension that mutates its payload changes nothing the caller holds."""
    records = [{"sku": "A", "tags": ["x"]}]

    def mutate(batch):
        batch[0]["tags"].append("y")
        return batch

    run_chain(CATALOGUE_LINE, [link(mutate)], records)
    assert records == [{"sku": "A", "tags": ["x"]}]


def test_an_extension_that_raises_fails_its_records_named():
    def boom(batch):
        raise RuntimeError("down")

    outcomes = run_chain(CATALOGUE_LINE, [link(boom, name="acme")], LINES)
    assert outcomes == [ExtensionFailed("acme", "raised RuntimeError: down")] * 3
    assert outcomes[0].message == "extension acme: raised RuntimeError: down"


def test_an_extension_past_its_deadline_fails_its_records():
    """The call runs in a worker thread; the runner does not wait past the timeout."""
    release = threading.Event()
    try:
        outcomes = run_chain(CATALOGUE_LINE, [link(lambda b: release.wait(60) and b, name="slow", timeout=0.05)], LINES)
    finally:
        release.set()
    assert outcomes == [ExtensionFailed("slow", "timed out after 0.05 s")] * 3


@pytest.mark.parametrize(
    ("function", "reason"),
    [
        (lambda batch: batch[1:], "returned 2 records for 3"),
        (lambda batch: {"sku": "A"}, "returned dict, not a list of records"),
        (lambda batch: None, "returned NoneType, not a list of records"),
    ],
)
def test_a_result_of_the_wrong_shape_fails_every_record(function, reason):
    assert run_chain(CATALOGUE_LINE, [link(function)], LINES) == [ExtensionFailed("ext", reason)] * 3


def test_an_invalid_record_fails_alone_and_the_rest_flow_on():
    """Not an object, changed identity, a key the point forbids, not JSON: that record only."""

    def odd(batch):
        return ["x", {**batch[1], "sku": "Z"}, batch[2]]

    outcomes = run_chain(CATALOGUE_LINE, [link(odd), link(lambda b: [{**r, "seen": True} for r in b])], LINES)
    assert outcomes[0] == ExtensionFailed("ext", "returned str for a record, not an object")
    assert outcomes[1] == ExtensionFailed("ext", "changed sku ('B' to 'Z')")
    assert outcomes[2] == {**LINES[2], "seen": True}

    sales = [{"message_id": "m-000001", "order_number": "1", "xml": "<x/>"}]
    forbidden = run_chain(SALES_ORDER, [link(lambda b: [{"xml": "<x/>", "token": "t"}], SALES_ORDER)], sales)
    assert isinstance(forbidden[0], ExtensionFailed) and "token" in forbidden[0].reason
    not_json = run_chain(CATALOGUE_LINE, [link(lambda b: [{**b[0], "x": float("nan")}])], LINES[:1])
    assert isinstance(not_json[0], ExtensionFailed) and "not JSON" in not_json[0].reason


def test_a_rights_extension_may_only_restrict():
    """The rights result schema takes `false` and a limit, never a grant."""
    login = [login_facts("a@x")]
    assert run_chain(RIGHTS, [link(lambda b: [{"canOrder": False}], RIGHTS)], login) == [{"canOrder": False}]
    granted = run_chain(RIGHTS, [link(lambda b: [{"canOrder": True}], RIGHTS)], login)
    assert isinstance(granted[0], ExtensionFailed)


def test_the_callers_check_names_the_extension():
    check = lambda after, before: "no shoes" if "Shoe" in after["name"] else None  # noqa: E731
    outcomes = run_chain(CATALOGUE_LINE, [link(lambda b: b, name="p")], LINES, check=check)
    assert outcomes[0] == ExtensionFailed("p", "no shoes") and outcomes[1] == LINES[1]


def test_every_point_has_a_payload_and_a_result_schema():
    for point in POINTS:
        for part in (PAYLOAD, RESULT):
            assert schema(point, part)["type"] == "array", (point, part)
            json.dumps(schema(point, part))


def spec(name: str, point: str = CATALOGUE_LINE, kind: str = "python", tenant: str = "acme") -> ExtensionSpec:
    return ExtensionSpec(tenant=tenant, point=point, name=name, kind=kind, timeout_seconds=5)


def test_the_python_kind_loads_an_entry_point(partner_extensions):
    extension = build_extension(spec("acme_search_keywords"))
    assert isinstance(extension, Extension)
    assert extension.call([{"sku": "A", "name": "Red Shoe"}]) == [
        {"sku": "A", "name": "Red Shoe", "acmeKeywords": ["red", "shoe"]}
    ]


def test_a_tenants_chains_run_by_point_and_an_unloadable_one_fails_its_records(partner_extensions):
    chains = TenantChains("acme", [spec("acme_search_keywords"), spec("acme_gone", point=WEB_ORDER)])
    assert chains.has(CATALOGUE_LINE) and not chains.has(RIGHTS)
    assert chains.apply(RIGHTS, [{"x": 1}]) == [{"x": 1}]
    assert chains.apply(CATALOGUE_LINE, LINES[:1])[0]["acmeKeywords"] == ["red", "shoe"]
    failed = chains.apply(WEB_ORDER, [{"orderNumber": "1"}])[0]
    assert isinstance(failed, ExtensionFailed) and failed.reason.startswith("raised RuntimeError: cannot be loaded")
    with pytest.raises(ValueError, match="tenant 'other'"):
        TenantChains("acme", [spec("acme_noop", tenant="other")])


def test_a_kind_is_pluggable():
    """The Dagster layer registers `pipes` like this; a kind not registered fails its records."""
    chains = TenantChains("acme", [spec("x", kind="elsewhere")])
    assert "not available" in chains.apply(CATALOGUE_LINE, LINES[:1])[0].reason
    register_kind("elsewhere", lambda s: PythonExtension(s.name, s.point, lambda b: [{**r, "k": s.kind} for r in b]))
    assert TenantChains("acme", [spec("x", kind="elsewhere")]).apply(CATALOGUE_LINE, LINES[:1])[0]["k"] == "elsewhere"
