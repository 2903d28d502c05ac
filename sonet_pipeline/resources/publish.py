"""Where each tenant's shop files go: a local folder by default, S3 (dagster-aws) when configured."""

from __future__ import annotations

from dagster import ConfigurableResource
from dagster_aws.s3 import S3Resource

from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.shop.publish import Destination, destination_for


class PublishResource(ConfigurableResource):
    """A tenant's `shop.publish_to`: `s3://bucket/prefix` through `s3`, else a folder (default under
    the data dir). The S3 client takes its region and credentials from the usual AWS chain."""

    s3: S3Resource

    def destination(self, tenant: Tenant) -> Destination:
        return destination_for(tenant.name, tenant.shop.publish_to, s3_client=self.s3.get_client)
