"""Whole files by name, in a folder, an S3 prefix or a PostgreSQL table: one interface for every place
the pipeline keeps files (shop files, snapshots, the catalogue cache, the audit archive).

`put` replaces a file whole: a reader sees the old or the new bytes, never a part (a folder: a temporary
file renamed over the old one; S3: one PUT; PostgreSQL: one upserted row). Names are relative paths of
`[A-Za-z0-9._=-]` parts joined by `/`, so no name leaves its place.
"""

from __future__ import annotations

import hashlib
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sonet_pipeline.common.atomic_file import write_bytes_atomically

_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._=-]*")
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


def checked_name(name: str) -> str:
    """`name` when it is a relative path of safe parts; else a ValueError naming it."""
    parts = name.split("/")
    if not name or not all(_PART.fullmatch(part) and part not in (".", "..") for part in parts):
        raise ValueError(f"not a file name the pipeline stores: {name!r}")
    return name


def folder_prefix(prefix: str) -> str:
    """`prefix` when it is empty or a checked folder name ending with `/`; else a ValueError naming it."""
    if prefix and not (prefix.endswith("/") and checked_name(prefix[:-1])):
        raise ValueError(f"not a folder prefix (empty, or a name ending with '/'): {prefix!r}")
    return prefix


class Blobs(ABC):
    """A place that holds files by name."""

    @abstractmethod
    def put(self, name: str, data: bytes) -> None:
        """Store `data` as `name`: a reader sees the old or the new whole file, never a part."""

    @abstractmethod
    def get(self, name: str) -> bytes | None:
        """The bytes stored as `name`, or None when there is none."""

    @abstractmethod
    def delete(self, name: str) -> None:
        """Remove `name`; nothing happens when there is none."""

    @abstractmethod
    def names(self, prefix: str = "") -> Iterator[str]:
        """Every stored name that starts with `prefix`, in no promised order."""

    @abstractmethod
    def describe(self, name: str = "") -> str:
        """Where `name` (or the place itself) is: `file:///...`, `s3://bucket/key`, `postgresql://.../table/key`."""

    def stored_sha256(self, name: str) -> str | None:
        """The SHA-256 of what is stored as `name` now, or None when there is nothing."""
        data = self.get(name)
        return hashlib.sha256(data).hexdigest() if data is not None else None

    def folders(self, prefix: str = "") -> Iterator[str]:
        """The folder names directly under `prefix` (empty, or a folder name ending with `/`), in no
        promised order: `folders("acme/")` of `acme/a/x` and `acme/b/y/z` gives `a` and `b`. This default
        walks every name under `prefix`; a folder lists one directory and S3 asks for common prefixes, so
        a caller can walk a tree partitioned by date without listing every file in it."""
        seen: set[str] = set()
        for name in self.names(folder_prefix(prefix)):
            head, slash, _ = name[len(prefix) :].partition("/")
            if slash and head not in seen:
                seen.add(head)
                yield head


class FolderBlobs(Blobs):
    """Files under a local folder (the embedded default). With `remove_empty_folders`, `delete` also
    removes the folders it leaves empty (up to, not including, `folder`): a tree whose files are pruned
    by age does not keep a folder per pruned key."""

    def __init__(self, folder: Path | str, *, remove_empty_folders: bool = False) -> None:
        self.folder = Path(folder)
        self.remove_empty_folders = remove_empty_folders

    def put(self, name: str, data: bytes) -> None:
        target = self.folder / checked_name(name)
        for attempt in range(3):
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                write_bytes_atomically(target, data)
                return
            except FileNotFoundError:  # a concurrent `delete` removed the emptied folder: make it again
                if attempt == 2:
                    raise

    def get(self, name: str) -> bytes | None:
        try:
            return (self.folder / checked_name(name)).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, name: str) -> None:
        target = self.folder / checked_name(name)
        target.unlink(missing_ok=True)
        if self.remove_empty_folders:
            for parent in target.relative_to(self.folder).parents[:-1]:
                try:
                    (self.folder / parent).rmdir()
                except OSError:  # not empty (or gone): the folders above are not empty either
                    break

    def names(self, prefix: str = "") -> Iterator[str]:
        if not self.folder.is_dir():
            return
        for root, _dirs, found in os.walk(self.folder):
            for file in found:
                name = (Path(root) / file).relative_to(self.folder).as_posix()
                if name.startswith(prefix) and not file.startswith("."):  # not a temporary of `put`
                    yield name

    def folders(self, prefix: str = "") -> Iterator[str]:
        where = self.folder / checked_name(folder_prefix(prefix).rstrip("/")) if prefix else self.folder
        try:
            entries = list(os.scandir(where))
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
                yield entry.name

    def describe(self, name: str = "") -> str:
        return (self.folder / checked_name(name) if name else self.folder).absolute().as_uri()


class S3Blobs(Blobs):
    """Objects `<prefix>/<name>` in `bucket`; `client` is a boto3 S3 client (dagster-aws `S3Resource`)."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        if not bucket:
            raise ValueError("an S3 location needs a bucket")
        self.client, self.bucket, self.prefix = client, bucket, prefix.strip("/")

    @classmethod
    def from_url(cls, url: str, client: Any) -> S3Blobs:
        """From `s3://bucket/prefix`."""
        if not url.startswith("s3://"):
            raise ValueError(f"not an s3:// URL: {url!r}")
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        return cls(client, bucket, prefix)

    def key(self, name: str) -> str:
        return f"{self.prefix}/{checked_name(name)}" if self.prefix else checked_name(name)

    def put(self, name: str, data: bytes) -> None:
        kind = "application/json" if name.endswith(".json") else "application/octet-stream"
        if name.endswith(".jsonl"):
            kind = "application/x-ndjson"
        elif name.endswith(".xml"):
            kind = "application/xml"
        digest = hashlib.sha256(data).hexdigest()
        self.client.put_object(
            Bucket=self.bucket, Key=self.key(name), Body=data, ContentType=kind, Metadata={"sha256": digest}
        )

    def get(self, name: str) -> bytes | None:
        answer = self._call(self.client.get_object, name)
        return answer["Body"].read() if answer is not None else None

    def delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key(name))

    def names(self, prefix: str = "") -> Iterator[str]:
        start = f"{self.prefix}/" if self.prefix else ""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start + prefix)
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"][len(start) :]

    def folders(self, prefix: str = "") -> Iterator[str]:
        start = (f"{self.prefix}/" if self.prefix else "") + folder_prefix(prefix)
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start, Delimiter="/")
        for page in pages:
            for common in page.get("CommonPrefixes", []):
                yield str(common["Prefix"])[len(start) :].rstrip("/")

    def stored_sha256(self, name: str) -> str | None:
        """From the object's `sha256` metadata (`put` sets it): a HEAD, not a download. None for an
        object without it (written by someone else): unknown, so a publish rewrites it."""
        answer = self._call(self.client.head_object, name)
        digest = answer.get("Metadata", {}).get("sha256") if answer is not None else None
        return str(digest) if digest else None

    def describe(self, name: str = "") -> str:
        key = self.key(name) if name else self.prefix
        return f"s3://{self.bucket}/{key}"

    def _call(self, method: Callable[..., Any], name: str) -> Any:
        """`method` on the object's key; None when there is no such object."""
        try:
            return method(Bucket=self.bucket, Key=self.key(name))
        except Exception as error:  # botocore's ClientError, without importing botocore here
            code = str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))
            if code in _MISSING_CODES:
                return None
            raise
