"""The shop job: one run publishes the stale files of every tenant whose inputs changed."""

from __future__ import annotations

from collections.abc import Sequence

from dagster import AssetsDefinition, AssetSelection, define_asset_job

from sonet_pipeline.jobs.instance import FLOW_TAG
from sonet_pipeline.jobs.sync import AssetJob

SHOP_JOB = "sonet_shop"


def build_shop_job(shop_assets: Sequence[AssetsDefinition]) -> AssetJob:
    return define_asset_job(
        SHOP_JOB,
        selection=AssetSelection.assets(*shop_assets),
        tags={FLOW_TAG: "shop"},
        description="Each tenant's catalogue, accounts, logins, rights and order status, published for the shop.",
    )
