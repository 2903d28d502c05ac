"""The shop's published files of a tenant as the CLI reads them, from its folder or S3 prefix: where
they are, what reading them raises, their lines (`shop why`, `shop price`, the demo)."""

from __future__ import annotations

import json
from typing import Any

from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.shop.publish import Destination


def destination(tenant: Tenant) -> Destination:
    """Where the tenant's files are published (`shop.publish_to`): as the shop job's `publish` resource says."""
    from dagster_aws.s3 import S3Resource

    from sonet_pipeline.resources.publish import PublishResource

    return PublishResource(s3=S3Resource()).destination(tenant)


def storage_errors() -> tuple[type[BaseException], ...]:
    """What reading a destination raises when it cannot: a folder's OSError, botocore's errors for S3."""
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover - botocore comes with dagster-aws
        return (OSError,)
    return (OSError, BotoCoreError, ClientError)


def published_rows(where: Destination, name: str) -> list[dict[str, Any]] | None:
    """The published file's lines as objects; None when there is no such file."""
    data = where.get(name)
    if data is None:
        return None
    rows = [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
    return [row for row in rows if isinstance(row, dict)]
