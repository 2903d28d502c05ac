"""`SONET_PIPELINE_SYNC_SHARD_SIZE`: tenants per step of the minute sync."""

from __future__ import annotations

import pytest

from sonet_pipeline.config import settings


def test_the_shard_size_setting(monkeypatch):
    monkeypatch.delenv(settings.SYNC_SHARD_SIZE_ENV, raising=False)
    assert settings.sync_shard_size() == 1
    monkeypatch.setenv(settings.SYNC_SHARD_SIZE_ENV, "25")
    assert settings.sync_shard_size() == 25
    for bad in ("0", "-1", "ten", "2.5"):
        monkeypatch.setenv(settings.SYNC_SHARD_SIZE_ENV, bad)
        with pytest.raises(ValueError, match="SONET_PIPELINE_SYNC_SHARD_SIZE must be a whole number"):
            settings.sync_shard_size()
