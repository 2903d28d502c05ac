"""The audit archive (pure core: no Dagster): every SalesOrder message exactly as sent and every answer
Sonet gave, per tenant and message, in a folder under the data dir or under production's S3 URL.

`store` holds the layout and its API (`Archive`, `TenantArchive`); `factory.open_archive` picks the place.
"""

from sonet_pipeline.archive.factory import ARCHIVE_FOLDER, open_archive
from sonet_pipeline.archive.store import Archive, ArchivedAttempt, AttemptEntry, TenantArchive

__all__ = ["ARCHIVE_FOLDER", "Archive", "ArchivedAttempt", "AttemptEntry", "TenantArchive", "open_archive"]
