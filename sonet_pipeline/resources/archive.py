"""The audit archive as a Dagster resource: a folder under the data dir, or S3 (dagster-aws) in production."""

from __future__ import annotations

from dagster import ConfigurableResource
from dagster_aws.s3 import S3Resource
from pydantic import Field

from sonet_pipeline.archive import Archive, TenantArchive, open_archive


class ArchiveResource(ConfigurableResource):
    """Every tenant's archived SalesOrder messages and Sonet's answers (`sonet_pipeline/archive/`).

    With `s3_url` (production's `SONET_PIPELINE_S3_URL`, bound in `definitions.py`) the archive is the
    objects under `<s3_url>/archive/`, through `s3` (region and credentials from the usual AWS chain);
    without, the folder `<data dir>/archive`. The send asset writes it; the retention job prunes it
    (`for_tenant(tenant).prune(before, dry_run=...)`)."""

    s3: S3Resource
    s3_url: str | None = Field(
        default=None, description="s3://bucket/prefix: the archive under <prefix>/archive/; unset: <data dir>/archive"
    )

    def archive(self) -> Archive:
        return open_archive(self.s3_url, s3_client=self.s3.get_client)

    def for_tenant(self, tenant: str) -> TenantArchive:
        return self.archive().for_tenant(tenant)
