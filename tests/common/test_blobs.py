"""Whole files by name in a folder, an S3 prefix (moto) and a PostgreSQL table: one behaviour for all three."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from sonet_pipeline.common.blobs import Blobs, FolderBlobs, S3Blobs, checked_name
from sonet_pipeline.common.postgres_blobs import PostgresBlobs


@pytest.fixture(params=["folder", "s3", pytest.param("postgres", marks=pytest.mark.postgres)])
def blobs(request: pytest.FixtureRequest, tmp_path) -> Iterator[Blobs]:
    if request.param == "folder":
        yield FolderBlobs(tmp_path / "files")
    elif request.param == "s3":
        import boto3
        from moto import mock_aws

        with mock_aws():
            client = boto3.client("s3", region_name="us-east-1")
            client.create_bucket(Bucket="archive")
            yield S3Blobs.from_url("s3://archive/prod/acme", client)
    else:
        dsn, schema = request.getfixturevalue("postgres_schema")
        yield PostgresBlobs(dsn, schema=schema, namespace="acme")


def test_put_get_replace_delete(blobs: Blobs):
    assert blobs.get("a/b.json") is None and blobs.stored_sha256("a/b.json") is None
    blobs.put("a/b.json", b"{}")
    blobs.put("a/b.json", b'{"v": 2}')
    assert blobs.get("a/b.json") == b'{"v": 2}'
    assert blobs.stored_sha256("a/b.json") == hashlib.sha256(b'{"v": 2}').hexdigest()
    blobs.delete("a/b.json")
    blobs.delete("a/b.json")  # twice: nothing happens
    assert blobs.get("a/b.json") is None


def test_names_under_a_prefix(blobs: Blobs):
    for name in ("2026/12/01/m1.xml", "2026/12/01/m1.answer.json", "2026/12/02/m2.xml", "other.txt"):
        blobs.put(name, name.encode())
    assert sorted(blobs.names("2026/12/01/")) == ["2026/12/01/m1.answer.json", "2026/12/01/m1.xml"]
    assert len(list(blobs.names())) == 4
    assert blobs.describe("other.txt").endswith("other.txt")


def test_a_prefix_with_like_wildcards_matches_only_itself(blobs: Blobs):
    blobs.put("a_b/x", b"1")
    blobs.put("aXb/y", b"2")
    assert list(blobs.names("a_b/")) == ["a_b/x"]


@pytest.mark.parametrize("name", ["", "../up", "a/../b", "/abs", "a//b", ".hidden", "a b", "a/./b"])
def test_names_that_could_leave_their_place_are_refused(name: str):
    with pytest.raises(ValueError, match="not a file name"):
        checked_name(name)


def test_folders_lists_the_folders_directly_under_a_prefix(blobs: Blobs):
    """`folders` names each folder one level under the prefix once (not files, not deeper folders); a
    prefix that is not empty and not a folder name ending with `/` is refused."""
    for name in ("acme/by-day/2026-03-01/m1", "acme/by-day/2026-03-02/m2", "acme/by-day/2026-03-02/m3", "acme/m1/x"):
        blobs.put(name, b"")
    blobs.put("acme/loose.json", b"{}")
    assert sorted(blobs.folders("acme/by-day/")) == ["2026-03-01", "2026-03-02"]
    assert sorted(blobs.folders("acme/")) == ["by-day", "m1"]
    assert sorted(blobs.folders()) == ["acme"]
    assert list(blobs.folders("nobody/")) == []
    with pytest.raises(ValueError, match="not a folder prefix"):
        list(blobs.folders("acme/by"))


def test_a_folder_can_remove_the_folders_a_delete_empties(tmp_path):
    """With `remove_empty_folders`, deleting a folder's last file removes the emptied folders up to the
    root (never the root, never a folder still holding something); a put makes them again."""
    blobs = FolderBlobs(tmp_path / "root", remove_empty_folders=True)
    blobs.put("a/b/c/one", b"1")
    blobs.put("a/two", b"2")
    blobs.delete("a/b/c/one")
    assert not (tmp_path / "root" / "a" / "b").exists() and (tmp_path / "root" / "a" / "two").exists()
    blobs.delete("a/two")
    assert (tmp_path / "root").is_dir() and list((tmp_path / "root").iterdir()) == []
    blobs.put("a/b/c/one", b"again")
    assert blobs.get("a/b/c/one") == b"again"
    kept = FolderBlobs(tmp_path / "plain")
    kept.put("x/y", b"1")
    kept.delete("x/y")
    assert (tmp_path / "plain" / "x").is_dir(), "by default a delete leaves the folders"
