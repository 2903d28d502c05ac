"""`sonet-pipeline worker`: exit 2 with the variable named when there is no broker to take steps from;
the Celery worker's arguments from the flags."""

from __future__ import annotations

import pytest

from sonet_pipeline.cli.main import main
from sonet_pipeline.cli.worker import worker_argv
from sonet_pipeline.config import settings


def test_without_a_broker_the_worker_exits_2_naming_the_variable(monkeypatch, capsys):
    monkeypatch.delenv(settings.BROKER_URL_ENV, raising=False)
    assert main(["worker"]) == 2
    assert f"{settings.BROKER_URL_ENV} is not set" in capsys.readouterr().err


def test_a_wrong_broker_exits_2_without_its_password(monkeypatch, capsys):
    monkeypatch.setenv(settings.BROKER_URL_ENV, "http://u:s3cret@mq/")
    assert main(["worker"]) == 2
    err = capsys.readouterr().err
    assert settings.BROKER_URL_ENV in err and "s3cret" not in err


@pytest.mark.parametrize("concurrency", ["0", "two"])
def test_concurrency_is_a_whole_number_of_at_least_one(concurrency, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["worker", "--concurrency", concurrency])
    assert exited.value.code == 2


def test_the_celery_arguments_name_the_worker_on_this_host_and_fetch_nothing_ahead():
    argv = worker_argv(concurrency=3, name="sync-a")
    assert argv[0] == "worker" and "--concurrency=3" in argv and "--prefetch-multiplier=1" in argv
    assert "--hostname=sync-a@%h" in argv
    assert "--hostname=w@host-1" in worker_argv(concurrency=1, name="w@host-1")
    assert any(a.startswith("--hostname=sonet-") for a in worker_argv(concurrency=1, name=None))


def test_worker_has_help(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["worker", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "--concurrency N" in out and settings.BROKER_URL_ENV in out
