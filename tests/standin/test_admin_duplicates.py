"""The duplicate-rows fault: a record listed twice, beside its real version and with its `dateModified`,
on every page size, until a newer version of the key ends it; what cannot be a second row is refused."""

from __future__ import annotations

import pytest

from tests.standin.standin_http import SonetClient

FIELDS = "itemCode listPrice dateModified"


def listed_twice(sonet: SonetClient, code: str, price: str) -> dict:
    body = {"entity": "items", "records": [{"itemCode": code, "listPrice": price}]}
    return sonet.admin_json("POST", "/companies/01/duplicates", json=body)


@pytest.mark.parametrize("first", [1, 2, 7, 500])
def test_a_record_is_listed_twice_at_its_place_on_any_page_size(sonet: SonetClient, first: int):
    code = sonet.state("items")[3]["itemCode"]
    real = next(r for r in sonet.read_all("items", FIELDS) if r["itemCode"] == code)
    answer = listed_twice(sonet, code, "1234.50")
    assert answer["duplicated"] == 1 and answer["versions"][0]["key"] == code

    nodes = sonet.read_all("items", FIELDS, first=first)
    rows = [n for n in nodes if n["itemCode"] == code]
    assert rows == [real, {**real, "listPrice": "1234.50"}]
    assert nodes.index(rows[1]) == nodes.index(rows[0]) + 1  # side by side, in the list's order
    assert len(nodes) == len(sonet.state("items")) + 1


def test_a_newer_version_ends_the_fault(sonet: SonetClient):
    code = sonet.state("items")[0]["itemCode"]
    listed_twice(sonet, code, "9.99")
    sonet.advance(1)
    sonet.change("items", [{"itemCode": code, "listPrice": "10.00"}])
    rows = [n for n in sonet.read_all("items", FIELDS) if n["itemCode"] == code]
    assert [r["listPrice"] for r in rows] == ["10.00"]


def test_what_cannot_be_a_second_row_is_refused(sonet: SonetClient):
    existing = sonet.state("items")[0]
    bad = [
        {"entity": "items", "records": [{"itemCode": "NO-SUCH-ITEM", "listPrice": "1.00"}]},
        {"entity": "items", "records": [{"itemCode": existing["itemCode"]}]},  # no change: no fault
        {"entity": "items", "records": [{"itemCode": existing["itemCode"], "colour": "red"}]},
        {"entity": "items", "records": []},
        {"entity": "widgets", "records": [{"itemCode": existing["itemCode"]}]},
    ]
    for body in bad:
        assert sonet.admin("POST", "/companies/01/duplicates", json=body).status_code == 400, body
    assert sonet.admin("POST", "/companies/01/duplicates", data=b"not json").status_code == 400
    assert sonet.admin("POST", "/companies/99/duplicates", json=bad[0]).status_code == 404
    assert len(sonet.read_all("items", "itemCode")) == len(sonet.state("items"))
