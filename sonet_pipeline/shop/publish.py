"""The shop's files of a tenant, written whole to a local folder or an S3 prefix, the manifest last.

A reader never sees half a file: a local file is written to a temporary name in its folder, fsynced
and renamed over the old one (`os.replace`, then the folder is fsynced); an S3 object is one PUT.
`publish` writes `<name>.jsonl` per file, then `manifest.json`: every file with its record count,
size and SHA-256, and the source's high-water marks. A file whose bytes hash as both its manifest
entry and the stored file say is not rewritten. During a publish a reader may see new files beside
the old manifest; the manifest describes the newest complete publish.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sonet_pipeline.common.blobs import Blobs, FolderBlobs, S3Blobs
from sonet_pipeline.config import settings
from sonet_pipeline.outbox.model import format_instant

MANIFEST = "manifest.json"
FILE_NAME = re.compile(r"[a-z_]+")  # a published file's name, without `.jsonl`
_OBJECT_NAME = re.compile(r"[a-z_]+\.jsonl|manifest\.json")  # what a destination holds


#: Where one tenant's files go: a folder or an S3 prefix (`common/blobs.py`), holding only the names
#: a publish writes.
Destination = Blobs


class LocalFolder(FolderBlobs):
    """A tenant's files in a local folder."""

    def put(self, name: str, data: bytes) -> None:
        super().put(_checked(name), data)

    def get(self, name: str) -> bytes | None:
        return super().get(_checked(name))


class S3Prefix(S3Blobs):
    """A tenant's files as objects `<prefix>/<name>` in `bucket`; `client` is a boto3 S3 client."""

    def put(self, name: str, data: bytes) -> None:
        super().put(_checked(name), data)

    def get(self, name: str) -> bytes | None:
        return super().get(_checked(name))


def destination_for(tenant: str, publish_to: str | None, *, s3_client: Callable[[], Any] | None = None) -> Destination:
    """The tenant's destination from its `shop.publish_to`: None is `<S3 URL>/published/<tenant>` when
    `SONET_PIPELINE_S3_URL` is set (production), else `<data dir>/published/<tenant>`;
    `s3://bucket/prefix` is that prefix (`<tenant>/` when empty; `s3_client()` makes the client), and
    anything else is a local folder (a path, or a `file://` URI) that is the tenant's own."""
    if publish_to is None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", tenant):
            raise ValueError(f"tenant name {tenant!r} cannot name a folder")
        s3_url = settings.s3_url()
        if s3_url is not None:
            return destination_for(tenant, f"{s3_url}/published/{tenant}", s3_client=s3_client)
        return LocalFolder(settings.data_dir() / "published" / tenant)
    if publish_to.startswith("s3://"):
        bucket, _, prefix = publish_to.removeprefix("s3://").partition("/")
        if not bucket:
            raise ValueError(f"publish_to {publish_to!r} names no bucket (s3://bucket/prefix)")
        if s3_client is None:
            raise ValueError(f"tenant {tenant!r} publishes to {publish_to}, but no S3 client was given")
        return S3Prefix(s3_client(), bucket, prefix.strip("/") or tenant)
    if publish_to.startswith("file://"):
        return LocalFolder(Path(publish_to.removeprefix("file://")))
    if "://" in publish_to:
        raise ValueError(f"publish_to {publish_to!r}: only s3://bucket/prefix or a local folder")
    return LocalFolder(Path(publish_to).expanduser().resolve())


def _is_file_name(name: str) -> bool:
    return name.endswith(".jsonl") and FILE_NAME.fullmatch(name.removesuffix(".jsonl")) is not None


def _checked(name: str) -> str:
    if not _OBJECT_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a published file's name (<name>.jsonl or manifest.json)")
    return name


def _plain(value: Any) -> Any:
    """JSON for what `json` lacks: a Decimal as its exact text, an instant as UTC `Z` milliseconds."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return format_instant(value)
    raise TypeError(f"{type(value).__name__} is not JSON: {value!r}")


_line = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_plain).encode


def jsonl(records: Iterable[Mapping[str, Any]]) -> bytes:
    """JSON Lines: one compact object per record, keys in the record's order, each line ending `\\n`.

    Each line is encoded on its own into one buffer: a text of the whole file would take 4 bytes a
    character as soon as one line holds an emoji (a 28 MB catalogue: 112 MB on the way to its bytes),
    and a list of the lines' bytes would be joined into a second copy."""
    buffer = io.BytesIO()
    write = buffer.write
    for record in records:
        write((_line(dict(record)) + "\n").encode("utf-8"))
    return buffer.getvalue()  # the buffer's own bytes, not a copy


@dataclass(frozen=True)
class EncodedLines:
    """A file's JSON Lines already encoded (as `jsonl` encodes them), and how many lines they hold."""

    data: bytes
    records: int


@dataclass(frozen=True)
class PublishedFile:
    """A manifest entry, and whether this publish wrote the file (`changed`) or left it as it was."""

    name: str
    records: int
    bytes: int
    sha256: str
    changed: bool


def publish(
    destination: Destination,
    files: Mapping[str, Sequence[Mapping[str, Any]] | EncodedLines],
    *,
    tenant: str,
    source: Mapping[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """Write `<name>.jsonl` for each of `files` (unless its bytes are those its manifest entry and the
    stored file have), then `manifest.json`; return the manifest. A file of the earlier manifest that `files`
    does not name is left as it is and keeps its entry. Each entry also says whether this publish
    wrote the file (`changed`)."""
    bad = sorted(name for name in files if not FILE_NAME.fullmatch(name))
    if bad:
        raise ValueError(f"file names must match [a-z_]+: {', '.join(map(repr, bad))}")
    earlier = _current_entries(destination, tenant)
    entries = {name: {**entry, "changed": False} for name, entry in earlier.items()}
    for name, content in files.items():
        file_name = f"{name}.jsonl"
        if isinstance(content, EncodedLines):
            data, records = content.data, content.records
        else:
            data, records = jsonl(content), len(content)
        digest = hashlib.sha256(data).hexdigest()
        # The file there may be newer than the manifest (a publish that stopped before it): check both.
        known = earlier.get(file_name, {}).get("sha256") == digest
        changed = not (known and destination.stored_sha256(file_name) == digest)
        if changed:
            destination.put(file_name, data)
        entries[file_name] = asdict(PublishedFile(file_name, records, len(data), digest, changed))
    manifest = {
        "tenant": tenant,
        "publishedAt": format_instant(now),
        "source": dict(source),
        "files": [entries[name] for name in sorted(entries)],
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=2, allow_nan=False, default=_plain) + "\n"
    destination.put(MANIFEST, text.encode("utf-8"))
    written: dict[str, Any] = json.loads(text)  # what a reader of manifest.json gets (Decimals as text)
    return written


def read_manifest(destination: Destination) -> dict[str, Any] | None:
    """The manifest there, or None when it is missing or not a manifest (a reader's, or the sensor's, view)."""
    raw = destination.get(MANIFEST)
    try:
        manifest = json.loads(raw) if raw is not None else None
    except ValueError:
        return None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        return None
    return manifest


def _current_entries(destination: Destination, tenant: str) -> dict[str, dict[str, Any]]:
    """The entries of the manifest there, by file name; none when it is missing or unreadable. A
    manifest of another tenant is refused: two tenants must not publish to one place."""
    manifest = read_manifest(destination)
    if manifest is None:  # missing or unreadable
        return {}
    try:
        owner, listed = manifest["tenant"], manifest["files"]
        entries = {
            entry["name"]: {key: entry[key] for key in ("name", "records", "bytes", "sha256")} for entry in listed
        }
    except (TypeError, KeyError):  # missing, or not a manifest's shape
        return {}
    if owner != tenant:
        raise ValueError(f"{destination.describe()} holds tenant {owner!r}'s files, not {tenant!r}'s")
    return {name: entry for name, entry in entries.items() if isinstance(name, str) and _is_file_name(name)}
