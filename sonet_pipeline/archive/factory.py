"""Where the archive is: `<SONET_PIPELINE_S3_URL>/archive/` in production, else `<data dir>/archive/`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sonet_pipeline.archive.store import Archive
from sonet_pipeline.common.blobs import FolderBlobs, S3Blobs
from sonet_pipeline.config import settings

#: The archive's folder under the data dir, and its prefix under production's S3 URL.
ARCHIVE_FOLDER = "archive"


def open_archive(s3_url: str | None, *, s3_client: Callable[[], Any] | None = None) -> Archive:
    """The archive under `s3_url` (`s3://bucket/prefix`: objects `prefix/archive/...`, through the boto3
    client `s3_client()` makes), or, with none, in the folder `<data dir>/archive`."""
    if s3_url is None:
        return Archive(FolderBlobs(settings.data_dir() / ARCHIVE_FOLDER, remove_empty_folders=True))
    if s3_client is None:
        raise ValueError(f"the archive at {s3_url} needs an S3 client")
    return Archive(S3Blobs.from_url(f"{s3_url.rstrip('/')}/{ARCHIVE_FOLDER}", s3_client()))
