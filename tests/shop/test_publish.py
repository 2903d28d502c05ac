"""`publish`: JSON Lines files written whole to a folder or an S3 prefix, unchanged ones skipped, manifest last."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sonet_pipeline.shop.publish import (
    Destination,
    LocalFolder,
    S3Prefix,
    destination_for,
    jsonl,
    publish,
)

NOW = datetime(2026, 11, 28, 4, 38, 0, 123456, tzinfo=UTC)
SOURCE = {"items": "2026-11-28T04:30:00.000Z", "customers": None}
CATALOGUE = [{"sku": "GLOVE-WORK", "name": "Työhanska", "price": Decimal("4.150")}, {"sku": "B", "price": None}]
ACCOUNTS = [{"id": "C10042", "creditLimit": Decimal("5000.00")}]


class Recording(Destination):
    """A destination that remembers the order of its puts, over another one."""

    def __init__(self, inner: Destination) -> None:
        self.inner, self.puts = inner, []

    def put(self, name: str, data: bytes) -> None:
        self.puts.append(name)
        self.inner.put(name, data)

    def get(self, name: str) -> bytes | None:
        return self.inner.get(name)

    def stored_sha256(self, name: str) -> str | None:
        return self.inner.stored_sha256(name)

    def delete(self, name: str) -> None:
        self.inner.delete(name)

    def names(self, prefix: str = "") -> Iterator[str]:
        return self.inner.names(prefix)

    def describe(self, name: str = "") -> str:
        return self.inner.describe(name)


def manifest_of(destination: Destination) -> dict[str, Any]:
    raw = destination.get("manifest.json")
    assert raw is not None
    return json.loads(raw)


# -- jsonl ----------------------------------------------------------------------------------------


def test_jsonl_is_compact_utf8_in_key_order_with_decimals_as_text():
    data = jsonl([{"z": 1, "a": "ä", "price": Decimal("4.150")}, {"b": None}])
    assert data == '{"z":1,"a":"ä","price":"4.150"}\n{"b":null}\n'.encode()
    assert jsonl([]) == b""
    assert jsonl(iter(CATALOGUE)) == jsonl(CATALOGUE)
    mixed = [{"name": "Kenkä 🥾"}, {"name": "plain"}, {"name": "e\u0301 & <b>"}]  # lines encoded one by one
    assert jsonl(mixed) == '{"name":"Kenkä 🥾"}\n{"name":"plain"}\n{"name":"e\u0301 & <b>"}\n'.encode()


def test_jsonl_refuses_what_json_cannot_say():
    with pytest.raises(TypeError):
        jsonl([{"a": object()}])
    with pytest.raises(ValueError):
        jsonl([{"a": float("nan")}])


# -- local folder ---------------------------------------------------------------------------------


def test_local_put_replaces_whole_and_leaves_no_temporary_file(tmp_path: Path):
    folder = LocalFolder(tmp_path / "acme")
    assert folder.get("catalogue.jsonl") is None
    folder.put("catalogue.jsonl", b"old\n")
    folder.put("catalogue.jsonl", b"new\n")
    assert folder.get("catalogue.jsonl") == b"new\n"
    assert sorted(p.name for p in (tmp_path / "acme").iterdir()) == ["catalogue.jsonl"]
    assert folder.describe() == (tmp_path / "acme").as_uri()


def test_a_local_put_that_fails_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    folder = LocalFolder(tmp_path)
    folder.put("catalogue.jsonl", b"old\n")

    def broken(source: Any, target: Any) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk gone"):
        folder.put("catalogue.jsonl", b"new\n")
    assert folder.get("catalogue.jsonl") == b"old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["catalogue.jsonl"]


@pytest.mark.parametrize("name", ["../x.jsonl", "a/b.jsonl", ".hidden.jsonl", "x.txt", ""])
def test_destinations_refuse_names_that_are_not_plain_files(tmp_path: Path, name: str):
    with pytest.raises(ValueError):
        LocalFolder(tmp_path).put(name, b"")


def test_publish_writes_files_then_the_manifest(tmp_path: Path):
    destination = Recording(LocalFolder(tmp_path))
    manifest = publish(
        destination, {"catalogue": CATALOGUE, "accounts": ACCOUNTS}, tenant="acme", source=SOURCE, now=NOW
    )
    assert destination.puts == ["catalogue.jsonl", "accounts.jsonl", "manifest.json"]
    catalogue = (tmp_path / "catalogue.jsonl").read_bytes()
    assert catalogue == jsonl(CATALOGUE)
    assert manifest == manifest_of(destination)
    assert manifest == {
        "tenant": "acme",
        "publishedAt": "2026-11-28T04:38:00.123Z",
        "source": SOURCE,
        "files": [
            {
                "name": "accounts.jsonl",
                "records": 1,
                "bytes": len(jsonl(ACCOUNTS)),
                "sha256": hashlib.sha256(jsonl(ACCOUNTS)).hexdigest(),
                "changed": True,
            },
            {
                "name": "catalogue.jsonl",
                "records": 2,
                "bytes": len(catalogue),
                "sha256": hashlib.sha256(catalogue).hexdigest(),
                "changed": True,
            },
        ],
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["accounts.jsonl", "catalogue.jsonl", "manifest.json"]


def test_an_unchanged_file_is_not_rewritten(tmp_path: Path):
    publish(LocalFolder(tmp_path), {"catalogue": CATALOGUE, "accounts": ACCOUNTS}, tenant="acme", source={}, now=NOW)
    before = (tmp_path / "catalogue.jsonl").stat()
    destination = Recording(LocalFolder(tmp_path))
    changed_accounts = [{"id": "C10042", "creditLimit": Decimal("6000.00")}]
    later = NOW + timedelta(minutes=5)
    manifest = publish(
        destination, {"catalogue": CATALOGUE, "accounts": changed_accounts}, tenant="acme", source={}, now=later
    )
    assert destination.puts == ["accounts.jsonl", "manifest.json"]
    after = (tmp_path / "catalogue.jsonl").stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert {f["name"]: f["changed"] for f in manifest["files"]} == {"accounts.jsonl": True, "catalogue.jsonl": False}
    assert manifest["publishedAt"] == "2026-11-28T04:43:00.123Z"
    assert (tmp_path / "accounts.jsonl").read_bytes() == jsonl(changed_accounts)


def test_a_file_newer_than_the_manifest_is_rewritten(tmp_path: Path):
    """A publish that stopped before its manifest left a file the manifest does not describe."""
    publish(LocalFolder(tmp_path), {"catalogue": CATALOGUE}, tenant="acme", source={}, now=NOW)
    LocalFolder(tmp_path).put("catalogue.jsonl", b'{"sku":"STRAY"}\n')
    manifest = publish(LocalFolder(tmp_path), {"catalogue": CATALOGUE}, tenant="acme", source={}, now=NOW)
    assert manifest["files"][0]["changed"] is True
    assert (tmp_path / "catalogue.jsonl").read_bytes() == jsonl(CATALOGUE)


def test_files_not_published_this_time_keep_their_entries(tmp_path: Path):
    first = publish(
        LocalFolder(tmp_path), {"catalogue": CATALOGUE, "accounts": ACCOUNTS}, tenant="acme", source={}, now=NOW
    )
    second = publish(LocalFolder(tmp_path), {"accounts": []}, tenant="acme", source={"n": 2}, now=NOW)
    kept, emptied = second["files"][1], second["files"][0]
    assert kept == {**first["files"][1], "changed": False}
    assert (emptied["name"], emptied["records"], emptied["bytes"], emptied["changed"]) == ("accounts.jsonl", 0, 0, True)
    assert (tmp_path / "catalogue.jsonl").read_bytes() == jsonl(CATALOGUE)
    assert second["source"] == {"n": 2}


@pytest.mark.parametrize(
    "corrupt", [b"{not json", b"[]", b'{"tenant": "acme"}', b'{"tenant":"acme","files":[1]}', b"\xff"]
)
def test_a_corrupt_manifest_counts_as_none(tmp_path: Path, corrupt: bytes):
    (tmp_path / "manifest.json").write_bytes(corrupt)
    manifest = publish(LocalFolder(tmp_path), {"catalogue": CATALOGUE}, tenant="acme", source={}, now=NOW)
    assert [(f["name"], f["changed"]) for f in manifest["files"]] == [("catalogue.jsonl", True)]


def test_another_tenants_manifest_is_refused(tmp_path: Path):
    publish(LocalFolder(tmp_path), {"catalogue": CATALOGUE}, tenant="acme", source={}, now=NOW)
    with pytest.raises(ValueError, match="'acme'"):
        publish(LocalFolder(tmp_path), {"catalogue": []}, tenant="globex", source={}, now=NOW)
    assert (tmp_path / "catalogue.jsonl").read_bytes() == jsonl(CATALOGUE)


@pytest.mark.parametrize("name", ["Catalogue", "order-status", "a.b", "", "../x", "catalogue2"])
def test_publish_refuses_file_names_before_writing(tmp_path: Path, name: str):
    with pytest.raises(ValueError, match=r"\[a-z_\]\+"):
        publish(LocalFolder(tmp_path), {"catalogue": CATALOGUE, name: []}, tenant="acme", source={}, now=NOW)
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_publish_needs_an_aware_instant(tmp_path: Path):
    with pytest.raises(ValueError, match="naive"):
        publish(LocalFolder(tmp_path), {}, tenant="acme", source={}, now=datetime(2026, 11, 28))


# -- destination_for ------------------------------------------------------------------------------


def test_the_default_is_the_data_dirs_published_folder(_isolated_data_dir: Path):
    destination = destination_for("acme", None)
    assert isinstance(destination, LocalFolder)
    assert destination.folder == _isolated_data_dir.resolve() / "published" / "acme"


def test_a_configured_folder_is_the_tenants_own(tmp_path: Path):
    assert destination_for("acme", str(tmp_path / "shop")).folder == tmp_path / "shop"
    assert destination_for("acme", (tmp_path / "x").as_uri()).folder == tmp_path / "x"


def test_s3_needs_a_client_factory():
    with pytest.raises(ValueError, match="no S3 client"):
        destination_for("acme", "s3://bucket/shops/acme")


def test_unknown_schemes_are_refused():
    with pytest.raises(ValueError, match="only s3://"):
        destination_for("acme", "gs://bucket/acme", s3_client=lambda: None)


@pytest.mark.parametrize(
    ("publish_to", "prefix", "described"),
    [
        ("s3://bucket/shops/acme", "shops/acme", "s3://bucket/shops/acme"),
        ("s3://bucket/shops/acme/", "shops/acme", "s3://bucket/shops/acme"),
        ("s3://bucket", "acme", "s3://bucket/acme"),
        ("s3://bucket/", "acme", "s3://bucket/acme"),
    ],
)
def test_s3_prefixes(publish_to: str, prefix: str, described: str):
    client = object()
    destination = destination_for("acme", publish_to, s3_client=lambda: client)
    assert isinstance(destination, S3Prefix)
    assert (destination.client, destination.bucket, destination.prefix) == (client, "bucket", prefix)
    assert destination.describe() == described
    assert destination.key("catalogue.jsonl") == f"{prefix}/catalogue.jsonl"


# -- S3 (moto) ------------------------------------------------------------------------------------


class CountingClient:
    """A boto3 client that counts put_object calls."""

    def __init__(self, client: Any) -> None:
        self.client, self.puts = client, []

    def put_object(self, **kwargs: Any) -> Any:
        self.puts.append(kwargs["Key"])
        return self.client.put_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch):
    moto = pytest.importorskip("moto")
    boto3 = pytest.importorskip("boto3")
    for variable, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(variable, value)
    with moto.mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="shop-files")
        yield CountingClient(client)


def test_s3_put_and_get(s3: CountingClient):
    destination = S3Prefix(s3, "shop-files", "shops/acme")
    assert destination.get("catalogue.jsonl") is None
    assert destination.stored_sha256("catalogue.jsonl") is None
    destination.put("catalogue.jsonl", b"old\n")
    destination.put("catalogue.jsonl", b"new\n")
    assert destination.get("catalogue.jsonl") == b"new\n"
    assert destination.stored_sha256("catalogue.jsonl") == hashlib.sha256(b"new\n").hexdigest()
    listed = s3.client.list_objects_v2(Bucket="shop-files")["Contents"]
    assert [o["Key"] for o in listed] == ["shops/acme/catalogue.jsonl"]


def test_s3_get_passes_other_errors_on(s3: CountingClient):
    with pytest.raises(Exception, match="NoSuchBucket"):
        S3Prefix(s3, "no-such-bucket", "acme").get("catalogue.jsonl")


def test_s3_publish_skips_unchanged_and_writes_the_manifest_last(s3: CountingClient):
    destination = destination_for("acme", "s3://shop-files", s3_client=lambda: s3)
    first = publish(destination, {"catalogue": CATALOGUE, "accounts": ACCOUNTS}, tenant="acme", source=SOURCE, now=NOW)
    assert s3.puts == ["acme/catalogue.jsonl", "acme/accounts.jsonl", "acme/manifest.json"]
    body = s3.client.get_object(Bucket="shop-files", Key="acme/catalogue.jsonl")["Body"].read()
    assert body == jsonl(CATALOGUE)
    assert json.loads(destination.get("manifest.json")) == first
    assert first["files"][1] == {
        "name": "catalogue.jsonl",
        "records": 2,
        "bytes": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
        "changed": True,
    }

    s3.puts.clear()
    second = publish(destination, {"catalogue": CATALOGUE, "logins": []}, tenant="acme", source=SOURCE, now=NOW)
    assert s3.puts == ["acme/logins.jsonl", "acme/manifest.json"]
    assert [(f["name"], f["changed"]) for f in second["files"]] == [
        ("accounts.jsonl", False),
        ("catalogue.jsonl", False),
        ("logins.jsonl", True),
    ]
    assert json.loads(destination.get("manifest.json")) == second
    head = s3.client.head_object(Bucket="shop-files", Key="acme/manifest.json")
    assert head["ContentType"] == "application/json"


def test_s3_an_object_without_its_hash_is_rewritten(s3: CountingClient):
    """The skip trusts an object only when its `sha256` metadata (set by `put`) matches the manifest."""
    destination = S3Prefix(s3, "shop-files", "acme")
    publish(destination, {"catalogue": CATALOGUE}, tenant="acme", source={}, now=NOW)
    s3.client.put_object(Bucket="shop-files", Key="acme/catalogue.jsonl", Body=jsonl(CATALOGUE))  # no metadata
    s3.puts.clear()
    manifest = publish(destination, {"catalogue": CATALOGUE}, tenant="acme", source={}, now=NOW)
    assert s3.puts == ["acme/catalogue.jsonl", "acme/manifest.json"]
    assert manifest["files"][0]["changed"] is True


def test_entries_of_the_manifest_that_name_no_published_file_are_dropped(tmp_path: Path):
    entry = {"name": "../outside.jsonl", "records": 1, "bytes": 1, "sha256": "0" * 64}
    (tmp_path / "manifest.json").write_text(json.dumps({"tenant": "acme", "files": [entry]}))
    manifest = publish(LocalFolder(tmp_path), {"catalogue": []}, tenant="acme", source={}, now=NOW)
    assert [f["name"] for f in manifest["files"]] == ["catalogue.jsonl"]


def test_production_publishes_under_the_s3_url_unless_the_tenant_says_where(monkeypatch: pytest.MonkeyPatch):
    """With SONET_PIPELINE_S3_URL set, a tenant without `publish_to` publishes to S3, not a worker's disk."""
    monkeypatch.setenv("SONET_PIPELINE_S3_URL", "s3://files/prod")
    client = object()
    destination = destination_for("acme", None, s3_client=lambda: client)
    assert isinstance(destination, S3Prefix)
    assert destination.describe() == "s3://files/prod/published/acme"
    assert isinstance(destination_for("acme", "/srv/shop/acme", s3_client=lambda: client), LocalFolder)
