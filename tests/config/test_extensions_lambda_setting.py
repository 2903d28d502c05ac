"""SONET_PIPELINE_EXTENSIONS_LAMBDA: whether `pipes` extensions naming a function run on AWS Lambda."""

from __future__ import annotations

import pytest

from sonet_pipeline.config import settings


@pytest.mark.parametrize(("value", "expected"), [(None, False), ("0", False), ("1", True), ("true", True)])
def test_the_setting_says_whether_lambda_runs_them(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv(settings.EXTENSIONS_LAMBDA_ENV, raising=False)
    else:
        monkeypatch.setenv(settings.EXTENSIONS_LAMBDA_ENV, value)
    assert settings.extensions_lambda() is expected


def test_another_value_is_refused_naming_the_variable(monkeypatch):
    monkeypatch.setenv(settings.EXTENSIONS_LAMBDA_ENV, "yes please")
    with pytest.raises(ValueError, match="SONET_PIPELINE_EXTENSIONS_LAMBDA must be 1 or 0, got 'yes please'"):
        settings.extensions_lambda()
