"""`sonet-pipeline shop publish` and `shop why`, run in-process through `cli.main` against a running stand-in.

`publish` asks what the shop sensor asks (which files' inputs changed) and runs the shop job through
Dagster; `why` reads the published rights as the shop does. The stale-file helper both share is
tested alone first.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterRun, DagsterRunStatus

from sonet_pipeline.assets import shop as shop_assets
from sonet_pipeline.cli.main import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from sonet_pipeline.cli.shop import NOT_A_LOGIN
from sonet_pipeline.config.settings import data_dir
from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.jobs.cli_runs import prepare_instance
from sonet_pipeline.jobs.shop import SHOP_JOB
from sonet_pipeline.shop.inputs import ACCOUNTS, FILES, LOGINS, RIGHTS, current_inputs, merged_source, stale_by_tenant
from tests.assets.test_shop import RIGHTS_RULES
from tests.standin.standin_http import TOKENS, SonetClient

SHOP = """
    variant_strategy: item_per_variant
    shop:""" + RIGHTS_RULES.format(blocked_may_order="true")  # the rule says yes: the note says why not
FILE_NAMES = {f"{name}.jsonl" for name in FILES}
BUYER, BLOCKED = "osto@makinen.example", "kari.laaksonen@laaksonen.example"


def configure(sonet: SonetClient, folder: Path, monkeypatch: pytest.MonkeyPatch, extra: str = "") -> None:
    """Tenant `acme` (company 01, with a shop section) and `nordic` (company 02 of the same stand-in)."""
    path = folder / "tenants.yaml"
    path.write_text(
        "tenants:\n  - name: acme\n"
        f"    sonet: {{base_url: '{sonet.base_url}', company: '01', token_env: ACME_T}}\n"
        + SHOP
        + extra
        + f"  - {{name: nordic, sonet: {{base_url: '{sonet.base_url}', company: '02', token_env: NORDIC_T}}}}\n"
    )
    monkeypatch.setenv("SONET_PIPELINE_TENANTS", str(path))
    monkeypatch.setenv("ACME_T", TOKENS["01"])
    monkeypatch.setenv("NORDIC_T", TOKENS["02"])
    monkeypatch.delenv("SONET_PIPELINE_POSTGRES_DSN", raising=False)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """The command's exit code, stdout and stderr."""
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = run(capsys, *argv, "--json")
    return code, json.loads(out)  # one document and nothing else on stdout


def sync(capsys: pytest.CaptureFixture[str], *tenants: str) -> None:
    code, out, _ = run(capsys, "sync", *(a for t in tenants for a in ("--tenant", t)), "--json")
    assert code == EXIT_OK, out


@pytest.fixture
def sonet(start_standin, tmp_path, monkeypatch) -> SonetClient:
    sonet = start_standin(items=150, companies=("01", "02"), lag_seconds=0, late_share=0.0)
    configure(sonet, tmp_path, monkeypatch)
    return sonet


# -- the stale-file helper the sensor and `publish` share --------------------------------------------


def _tenant(name: str) -> Tenant:
    return Tenant.model_validate(
        {"name": name, "sonet": {"base_url": "http://sonet.example", "company": "01", "token_env": "T"}}
    )


def _snapshot(**fingerprints: str) -> dict[str, Any]:
    names = ("items", "customers", "segments", "sales_orders")
    return {"entities": {name: {"fingerprint": fingerprints.get(name, f"{name}-1")} for name in names}}


def test_stale_by_tenant_skips_tenants_not_synced_and_compares_the_rest_with_their_manifests():
    synced, fresh, never = _tenant("synced"), _tenant("fresh"), _tenant("never")
    snapshots = {"synced": _snapshot(customers="customers-2"), "fresh": _snapshot()}
    was = current_inputs(synced, _snapshot(), "0")
    assert was is not None
    manifest = {"files": [{"name": n} for n in FILE_NAMES], "source": merged_source(None, was, list(FILES), {})}
    read: list[str] = []

    def published(tenant: Tenant) -> dict[str, Any]:
        read.append(tenant.name)
        return manifest

    def found(everything: bool = False) -> dict[str, tuple[bool, list[str]]]:
        answer = stale_by_tenant(
            [synced, fresh, never],
            snapshot_manifest=snapshots.get,
            outbox_mark=lambda name: "0",
            published_manifest=published,
            everything=everything,
        )
        return {t.tenant: (t.inputs is not None, t.files) for t in answer}

    assert found() == {"synced": (True, [ACCOUNTS, LOGINS, RIGHTS]), "fresh": (True, []), "never": (False, [])}
    assert read == ["synced", "fresh"]  # a tenant not synced has no inputs: its manifest is not read
    read.clear()
    assert found(everything=True) == {"synced": (True, list(FILES)), "fresh": (True, list(FILES)), "never": (False, [])}
    assert read == []  # everything: no manifest needs reading


# -- publish ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_publish_after_a_sync_then_nothing_to_publish_then_all_again(sonet, capsys):
    code, out, _ = run(capsys, "shop", "publish")
    assert (code, out.splitlines()) == (
        EXIT_OK,
        [
            "nothing to publish",
            "acme: not synced yet, nothing to publish",
            "nordic: not synced yet, nothing to publish",
        ],
    )

    sync(capsys, "acme")
    code, out, err = run(capsys, "shop", "publish")
    assert code == EXIT_OK, err
    assert re.match(r"shop run [0-9a-f-]{36}: succeeded\n", out)
    folder = data_dir() / "published" / "acme"
    assert f"  acme: {folder.absolute().as_uri()}" in out
    manifest = json.loads((folder / "manifest.json").read_text())
    records = {entry["name"]: entry["records"] for entry in manifest["files"]}
    assert set(records) == FILE_NAMES
    for name, count in records.items():
        assert re.search(rf"\n    {re.escape(name)} +{count} records  written\n", out), (name, out)
    assert "warning: acme logins_unique:" in out  # e-mails two customers share are withheld, and said so
    assert out.endswith("\nnordic: not synced yet, nothing to publish\n")

    code, out, _ = run(capsys, "shop", "publish", "--tenant", "acme")
    assert (code, out) == (EXIT_OK, "nothing to publish: the shop files of acme are up to date\n")
    code, document = run_json(capsys, "shop", "publish", "--tenant", "acme")
    assert code == EXIT_OK
    assert document == {
        "run_id": None,
        "success": True,
        "tenants": {},
        "up_to_date": ["acme"],
        "not_synced": [],
        "warnings": [],
        "failures": [],
    }

    before = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.jsonl")}
    code, document = run_json(capsys, "shop", "publish", "--all")
    assert code == EXIT_OK and document["success"] is True and document["run_id"]
    acme = document["tenants"]["acme"]
    assert acme["destination"] == folder.absolute().as_uri()
    assert set(acme["files"]) == set(FILES)
    for name, figures in acme["files"].items():
        assert figures["records"] == records[f"{name}.jsonl"]
        assert figures["changed"] is False  # the same bytes: republished, not rewritten
        assert re.fullmatch(r"[0-9a-f]{64}", figures["sha256"])
    assert document["not_synced"] == ["nordic"]
    assert {(w["tenant"], w["check"]) for w in document["warnings"]} == {("acme", "logins_unique")}
    assert {p.name: p.stat().st_mtime_ns for p in folder.glob("*.jsonl")} == before

    sonet.change("items", [{"itemCode": "BOOT-PRO-43", "listPrice": "61.90"}])
    sonet.advance(1)
    sync(capsys, "acme")
    code, document = run_json(capsys, "shop", "publish", "--tenant", "acme")
    assert code == EXIT_OK
    assert {n: f["changed"] for n, f in document["tenants"]["acme"]["files"].items()} == {"catalogue": True}


@pytest.mark.slow
def test_publish_refuses_while_a_shop_run_is_in_progress_and_exits_1_when_its_run_fails(sonet, capsys, monkeypatch):
    code, out, err = run(capsys, "shop", "publish", "--tenant", "nowhere")
    assert (code, out) == (EXIT_USAGE, "") and "no tenant named 'nowhere'" in err

    instance = prepare_instance()
    busy = DagsterRun(job_name=SHOP_JOB, run_id=str(uuid.uuid4()), status=DagsterRunStatus.STARTED)
    instance.add_run(busy)
    sync(capsys, "acme")
    code, out, err = run(capsys, "shop", "publish", "--json")
    assert (code, out) == (EXIT_FAILED, "")
    assert f"shop run {busy.run_id} is still started" in err
    assert not (data_dir() / "published" / "acme").exists()

    instance.report_run_failed(busy)

    def full_disk(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shop_assets, "publish", full_disk)
    code, out, _ = run(capsys, "shop", "publish")
    assert code == EXIT_FAILED
    assert re.match(r"shop run [0-9a-f-]{36}: FAILED\n", out)
    assert "\n  acme: not published (catalogue, accounts, logins, rights, order_status, prices)\n" in out
    assert "\n  failure: acme__shop: OSError: [Errno 28] No space left on device\n" in out
    code, document = run_json(capsys, "shop", "publish")
    assert code == EXIT_FAILED and document["success"] is False and document["run_id"]
    assert document["tenants"] == {"acme": {"destination": None, "files": {}}}


# -- why ----------------------------------------------------------------------------------------------


@pytest.fixture
def published(sonet, capsys) -> SonetClient:
    sync(capsys, "acme")
    assert run(capsys, "shop", "publish", "--tenant", "acme")[0] == EXIT_OK
    return sonet


@pytest.mark.slow
def test_why_for_a_buyer_who_may_order_the_blocked_customer_and_unknown_emails(published, capsys):
    code, out, err = run(capsys, "shop", "why", "--tenant", "acme", "--login", "Osto@Makinen.EXAMPLE")
    assert code == EXIT_OK, err
    lines = out.splitlines()
    assert lines[0].startswith(f"{BUYER} (acme, published ")
    shown = dict(re.match(r"  ([a-z ]+): +(.*)", line).groups() for line in lines[1:])  # type: ignore[union-attr]
    assert shown == {
        "account": "C10042 (Rakennus Oy Mäkinen & Poika)",
        "contact": "Pekka Mäkinen (C10042-2)",
        "segments": "B2B-RAKENNUS",
        "customer types": shown["customer types"],
        "role": "BUYER",
        "blocked": "no",
        "can see prices": "yes",
        "can order": "yes",
        "order limit": "no limit",
        "rule": "builders",
        "note": "-",
    }

    code, document = run_json(capsys, "shop", "why", "--tenant", "acme", "--login", BLOCKED)
    assert code == EXIT_OK
    rights = document["rights"]
    assert document["published"] is True and document["reason"] is None
    assert rights["login"] == BLOCKED and rights["accountId"] == "C10666"
    assert rights["orderBlocked"] is True and rights["canSeePrices"] is True
    assert rights["canOrder"] is False and rights["orderLimit"] is None
    assert rights["rule"] == "blocked" and rights["note"].startswith("order_blocked")
    assert document["contact"] == {"contactId": "C10666-1", "name": "Kari Laaksonen"}
    code, out, _ = run(capsys, "shop", "why", "--tenant", "acme", "--login", BLOCKED)
    assert "  blocked:        yes\n" in out and "  can order:      no\n" in out and "  rule:           blocked\n" in out
    assert "  note:           order_blocked: Sonet refuses orders from this customer\n" in out

    code, out, err = run(capsys, "shop", "why", "--tenant", "acme", "--login", "nobody@nowhere.example")
    assert (code, out) == (EXIT_FAILED, "")
    assert err == f"nobody@nowhere.example (acme): {NOT_A_LOGIN}\n"
    code, document = run_json(capsys, "shop", "why", "--tenant", "acme", "--login", "nobody@nowhere.example")
    assert code == EXIT_FAILED
    assert document["published"] is False and document["rights"] is None and document["reason"] == NOT_A_LOGIN

    shared = next(
        contact["email"]
        for customer in published.state("customers")
        for contact in customer["contacts"]
        if (contact["email"] or "").endswith("@tilitoimisto-0.example")
    )
    code, _, err = run(capsys, "shop", "why", "--tenant", "acme", "--login", shared)
    assert code == EXIT_FAILED and NOT_A_LOGIN in err  # two customers share it: withheld

    code, _, err = run(capsys, "shop", "why", "--tenant", "acme", "--login", "info@makinen.example")
    assert code == EXIT_FAILED
    assert "the e-mail of account C10042 (Rakennus Oy Mäkinen & Poika) itself" in err


@pytest.mark.slow
def test_why_before_anything_is_published_and_with_a_blank_login(sonet, capsys):
    code, out, err = run(capsys, "shop", "why", "--tenant", "nordic", "--login", BUYER)
    assert (code, out) == (EXIT_FAILED, "")
    assert "nordic has no rights.jsonl at file://" in err and "shop publish --tenant nordic" in err
    code, _, err = run(capsys, "shop", "why", "--tenant", "acme", "--login", "  ")
    assert code == EXIT_USAGE and "--login" in err


@pytest.mark.slow
def test_publish_and_why_for_a_tenant_publishing_to_s3(start_standin, tmp_path, monkeypatch, capsys):
    from moto import mock_aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    sonet = start_standin(items=100, companies=("01", "02"), lag_seconds=0)
    configure(sonet, tmp_path, monkeypatch, extra="      publish_to: s3://shop-files/sonet/acme\n")
    with mock_aws():
        import boto3

        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="shop-files")
        sync(capsys, "acme")
        code, document = run_json(capsys, "shop", "publish", "--tenant", "acme")
        assert code == EXIT_OK
        assert document["tenants"]["acme"]["destination"] == "s3://shop-files/sonet/acme"
        assert set(document["tenants"]["acme"]["files"]) == set(FILES)
        assert run(capsys, "shop", "publish", "--tenant", "acme")[1].startswith("nothing to publish")
        code, document = run_json(capsys, "shop", "why", "--tenant", "acme", "--login", BUYER)
    assert code == EXIT_OK and document["rights"]["rule"] == "builders"
    assert document["destination"] == "s3://shop-files/sonet/acme"
