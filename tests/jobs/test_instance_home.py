"""The instance folder a command prepares: its `dagster.yaml` written once, whole, even when several
commands (two `sonet-pipeline sync`s started together) prepare the same new folder at once."""

from __future__ import annotations

import threading
from pathlib import Path

import yaml

from sonet_pipeline.jobs.instance import dagster_yaml, ensure_dagster_home


def test_commands_preparing_one_new_home_at_once_all_succeed_and_leave_one_whole_dagster_yaml(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("SONET_PIPELINE_POSTGRES_DSN", raising=False)
    home = tmp_path / "home"
    start, errors = threading.Barrier(8), []

    def prepare() -> None:
        start.wait()
        try:
            ensure_dagster_home(home)
        except Exception as exc:  # what a racing command used to meet: FileNotFoundError on the rename
            errors.append(exc)

    threads = [threading.Thread(target=prepare) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert (home / "dagster.yaml").read_text(encoding="utf-8") == dagster_yaml(postgres=False)
    assert yaml.safe_load((home / "dagster.yaml").read_text(encoding="utf-8"))
    assert sorted(p.name for p in home.iterdir()) == ["dagster.yaml"]  # no temporary file left behind
