"""`sonet-pipeline shop price`: a buyer's price from the published files, run in-process through `cli.main`
against a running stand-in (its seeded price lists), in text and `--json`, and its errors."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from sonet_pipeline.cli.main import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from sonet_pipeline.config.settings import data_dir
from tests.cli.test_shop import configure, run, run_json, sync
from tests.standin.standin_http import SonetClient

pytestmark = pytest.mark.slow


@pytest.fixture
def published(start_standin, tmp_path, monkeypatch, capsys) -> SonetClient:
    """Tenants acme (synced and published; BOOT-PRO-46 without a list price, C10666 buying from PL-EXPORT)
    and nordic (neither)."""
    sonet = start_standin(items=150, companies=("01", "02"), lag_seconds=0, late_share=0.0)
    configure(sonet, tmp_path, monkeypatch)
    sonet.change("items", [{"itemCode": "BOOT-PRO-46", "listPrice": None}])  # price on request
    sonet.change("customers", [{"customerNumber": "C10666", "priceListCode": "PL-EXPORT"}])  # an export buyer
    sonet.advance(1)
    sync(capsys, "acme")
    assert run(capsys, "shop", "publish", "--tenant", "acme")[0] == EXIT_OK
    return sonet


def price(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    return run_json(capsys, "shop", "price", "--tenant", "acme", *argv)


def rows(name: str) -> list[dict[str, Any]]:
    text = (data_dir() / "published" / "acme" / f"{name}.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_the_buyers_line_decides_by_quantity_in_text_and_json(published, capsys):
    code, out, err = run(capsys, "shop", "price", "--tenant", "acme", "--account", "C10042", "--sku", "BOOT-PRO-43")
    assert code == EXIT_OK, err
    head, *details = out.splitlines()
    assert re.fullmatch(r"BOOT-PRO-43 for C10042 \(acme\): 52\.90 EUR \(quantity 1, at \S+Z\)", head), head
    shown = dict(re.match(r"  ([a-z ]+): +(.*)", line).groups() for line in details)  # type: ignore[union-attr]
    assert shown["price list"] == "PL-RAKENNUS" and shown["item"] == "BOOT-PRO-43"
    assert shown["decided by"] == "line PLL-0000001 of price list PL-RAKENNUS"
    assert (shown["line"], shown["from quantity"], shown["valid"]) == ("PLL-0000001", "1", "since ever to open-ended")
    assert shown["published"].endswith((data_dir() / "published" / "acme").absolute().as_uri())

    code, document = price(capsys, "--account", "C10042", "--sku", "BOOT-PRO-43", "--quantity", "12")
    assert code == EXIT_OK
    assert {k: document[k] for k in ("tenant", "account", "priceListCode", "sku", "itemCode", "quantity")} == {
        "tenant": "acme",
        "account": "C10042",
        "priceListCode": "PL-RAKENNUS",
        "sku": "BOOT-PRO-43",
        "itemCode": "BOOT-PRO-43",
        "quantity": "12",
    }
    assert (document["price"], document["currency"], document["source"]) == ("49.90", "EUR", "line")
    assert document["line"]["lineId"] == "PLL-0000002" and document["line"]["minQuantity"] == "10"
    assert document["publishedAt"] and document["destination"].startswith("file://")
    code, document = price(capsys, "--account", "C10042", "--sku", "BOOT-PRO-43", "--at", "2026-12-24T12:00:00+02:00")
    assert code == EXIT_OK and document["at"] == "2026-12-24T10:00:00.000Z"
    args = ("shop", "price", "--tenant", "acme", "--account", "C10042", "--sku", "BOOT-PRO-43", "--json")
    code, out, err = run(capsys, *args, "--at", "2000-01-01T00:00:00Z")  # answered, with a note on stderr
    assert code == EXIT_OK and json.loads(out)["price"] == "52.90"
    assert "note: --at is before the files were published" in err
    code, out, err = run(capsys, *args, "--at", "2999-01-01T00:00:00Z")
    assert code == EXIT_OK and "note: --at is beyond the prices' horizon" in err


def test_list_price_price_on_request_an_export_list_and_not_sold(published, capsys):
    accounts = rows("accounts")
    catalogue = rows("catalogue")
    variants = [v for p in catalogue for v in p["variants"]] + [p for p in catalogue if p["type"] == "simple"]
    listless = next(a["accountId"] for a in accounts if a["priceListCode"] is None)
    priced = next(v for v in variants if v["price"] is not None)
    code, document = price(capsys, "--account", listless, "--sku", priced["sku"])
    assert code == EXIT_OK
    assert (document["price"], document["source"], document["line"]) == (priced["price"], "list price", None)
    assert document["note"] == "the item's list price: the account has no price list"

    code, document = price(capsys, "--account", listless, "--sku", "BOOT-PRO-46")
    assert (code, document["price"], document["currency"], document["source"]) == (
        EXIT_OK,
        None,
        "EUR",
        "price on request",
    )

    code, document = price(capsys, "--account", "C10666", "--sku", "BOOT-PRO-43")  # its own list: PL-EXPORT
    assert (document["priceListCode"], document["price"], document["currency"]) == ("PL-EXPORT", "689.00", "SEK")
    assert document["line"]["lineId"] == "PLL-0000007"

    passive = next(i["itemCode"] for i in published.state("items") if i["status"] == "PASSIVE")
    code, document = price(capsys, "--account", "C10042", "--sku", passive)
    assert (code, document["price"], document["source"]) == (EXIT_OK, None, "not sold")
    assert document["note"] == "not sold: the item is PASSIVE in Sonet"
    code, out, _ = run(capsys, "shop", "price", "--tenant", "acme", "--account", "C10042", "--sku", passive)
    assert out.startswith(f"{passive} for C10042 (acme): not sold (quantity 1, ")


def test_errors_name_the_unknown_tenant_account_or_sku_and_the_bad_quantity_or_instant(published, capsys):
    def fails(*argv: str) -> tuple[int, str, str]:
        return run(capsys, "shop", "price", *argv)

    code, out, err = fails("--tenant", "nope", "--account", "C10042", "--sku", "BOOT-PRO-43")
    assert (code, out) == (EXIT_USAGE, "") and "no tenant named 'nope'" in err
    code, out, err = fails("--tenant", "acme", "--account", "C0", "--sku", "BOOT-PRO-43", "--json")
    assert (code, out) == (EXIT_FAILED, "") and "unknown account 'C0'" in err
    code, out, err = fails("--tenant", "acme", "--account", "C10042", "--sku", "NO-SUCH-SKU")
    assert (code, out) == (EXIT_FAILED, "") and "unknown sku 'NO-SUCH-SKU'" in err
    code, _, err = fails("--tenant", "acme", "--account", "C10042", "--sku", "BOOT-PRO")
    assert code == EXIT_FAILED and "'BOOT-PRO' is a configurable product" in err and "BOOT-PRO-43" in err
    code, _, err = fails("--tenant", "nordic", "--account", "C10042", "--sku", "BOOT-PRO-43")
    assert code == EXIT_FAILED and "nordic has no accounts.jsonl, catalogue.jsonl, prices.jsonl at file://" in err

    for flag, value, problem in [
        ("--quantity", "0", "must be greater than 0: '0'"),
        ("--quantity", "ten", "not a number: 'ten'"),
        ("--quantity", "NaN", "must be greater than 0: 'NaN'"),
        ("--at", "tomorrow", "not an ISO-8601 timestamp: 'tomorrow'"),
        ("--at", "2026-12-24T12:00:00", "needs a UTC offset"),
    ]:
        with pytest.raises(SystemExit) as exited:
            main(["shop", "price", "--tenant", "acme", "--account", "C10042", "--sku", "BOOT-PRO-43", flag, value])
        assert exited.value.code == EXIT_USAGE
        assert f"argument {flag}: {problem}" in capsys.readouterr().err
