"""The AWS clients the CLI (and the intake it serves) makes for the Dagster-free core.

The core never makes a client; it is handed a factory. Outside Dagster this is it: boto3's usual chain
(`AWS_REGION`, the credentials chain, `AWS_ENDPOINT_URL`), the same settings dagster-aws's resources
read inside Dagster when they are given no explicit configuration.
"""

from __future__ import annotations

from typing import Any

from sonet_pipeline.config.secrets import SecretsClient


def secrets_client() -> SecretsClient:
    """A Secrets Manager client; made only when a tenant's token is a secret (boto3 is slow to import)."""
    import boto3

    # A session of its own: boto3's default session is not safe to share between threads (the intake
    # reads secrets in worker threads).
    client: SecretsClient = boto3.session.Session().client("secretsmanager")
    return client


def s3_client() -> Any:
    """An S3 client (the archive in production); made only when `SONET_PIPELINE_S3_URL` is set."""
    import boto3

    return boto3.session.Session().client("s3")
