"""The broker settings: unset means steps in the run's process; set, they are checked, and an error
names the variable and never the URL's password."""

from __future__ import annotations

import pytest

from sonet_pipeline.config import settings


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    monkeypatch.delenv(settings.BROKER_URL_ENV, raising=False)
    monkeypatch.delenv(settings.RESULT_BACKEND_ENV, raising=False)


def test_unset_means_no_broker_and_no_backend():
    assert settings.broker_url() is None
    assert settings.result_backend() is None


@pytest.mark.parametrize(
    ("broker", "backend"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("rediss://:pw@cache.example:6380/2", "rediss://:pw@cache.example:6380/2"),
        ("amqp://guest:guest@127.0.0.1:5672//", "rpc://"),
        ("pyamqp://guest@mq//", "rpc://"),
    ],
)
def test_the_backend_defaults_to_redis_itself_or_rpc_over_rabbitmq(monkeypatch, broker, backend):
    monkeypatch.setenv(settings.BROKER_URL_ENV, broker)
    assert settings.broker_url() == broker
    assert settings.result_backend() == backend


def test_an_explicit_backend_is_taken(monkeypatch):
    monkeypatch.setenv(settings.BROKER_URL_ENV, "amqp://mq//")
    monkeypatch.setenv(settings.RESULT_BACKEND_ENV, "db+postgresql://u@db/sonet")
    assert settings.result_backend() == "db+postgresql://u@db/sonet"


def test_a_broker_that_is_not_redis_or_amqp_is_named_without_its_password(monkeypatch):
    monkeypatch.setenv(settings.BROKER_URL_ENV, "http://user:s3cret@host/")
    with pytest.raises(ValueError, match=f"{settings.BROKER_URL_ENV} must be a redis:// or amqp:// URL") as raised:
        settings.broker_url()
    assert "s3cret" not in str(raised.value)
    monkeypatch.setenv(settings.BROKER_URL_ENV, "127.0.0.1:6379")
    with pytest.raises(ValueError, match="got no scheme"):
        settings.broker_url()


def test_a_wrong_backend_or_a_backend_without_broker_is_named(monkeypatch):
    monkeypatch.setenv(settings.RESULT_BACKEND_ENV, "redis://127.0.0.1:6379/1")
    with pytest.raises(ValueError, match=f"{settings.RESULT_BACKEND_ENV} is set but {settings.BROKER_URL_ENV} is not"):
        settings.result_backend()
    monkeypatch.setenv(settings.BROKER_URL_ENV, "redis://127.0.0.1:6379/0")
    monkeypatch.setenv(settings.RESULT_BACKEND_ENV, "mongodb://u:s3cret@db/")
    with pytest.raises(ValueError, match=f"{settings.RESULT_BACKEND_ENV} must be") as raised:
        settings.result_backend()
    assert "s3cret" not in str(raised.value)
