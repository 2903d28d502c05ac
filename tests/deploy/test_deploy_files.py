"""The deployment example in `deploy/` is what the pipeline writes and what Dagster accepts.

- every `deploy/*.yaml` and `*.json` parses;
- `deploy/dagster.yaml` is exactly what a new production DAGSTER_HOME gets (`dagster_yaml(postgres=True)`),
  plus commented-out sections only;
- a `DagsterInstance` loads it against the real PostgreSQL server, and its commented ECS run launcher
  and S3 compute logs, uncommented, are valid configuration of dagster-aws (against moto);
- the workspace, the Dockerfile's command and pyproject.toml agree on the code location, and that
  command serves the code location over gRPC here, loadable through the workspace file.

Not tested here: building the image (no Docker daemon on this machine), ECS and Kubernetes themselves.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import yaml
from dagster import DagsterInstance, QueuedRunCoordinator

from sonet_pipeline.config import settings
from sonet_pipeline.jobs.instance import dagster_yaml
from sonet_pipeline.jobs.postgres_storage import PipelinePostgresStorage
from tests.conftest import AWS_TEST_REGION, REPO

DEPLOY = REPO / "deploy"
DAGSTER_YAML = DEPLOY / "dagster.yaml"
BIN = Path(sys.executable).parent


def commented_block(text: str, tag: str) -> str:
    """The YAML of the commented section `# --- [tag]` ... `# --- end [tag]`, uncommented."""
    lines, inside, found = [], False, False
    for line in text.splitlines():
        if line.startswith(f"# --- [{tag}]"):
            inside = found = True
        elif line.startswith(f"# --- end [{tag}]"):
            inside = False
        elif inside:
            assert line.startswith("#"), f"[{tag}]: an uncommented line inside a commented section: {line!r}"
            lines.append(line[2:] if line.startswith("# ") else line[1:])
    assert found, f"deploy/dagster.yaml has no section [{tag}]"
    return "\n".join(lines) + "\n"


def test_every_deploy_yaml_and_json_parses():
    files = sorted(DEPLOY.glob("*.yaml"))
    assert {p.name for p in files} >= {"dagster.yaml", "workspace.yaml", "helm-values.yaml"}
    for path in files:
        assert isinstance(yaml.safe_load(path.read_text(encoding="utf-8")), dict), path
    for path in DEPLOY.glob("*.json"):
        assert isinstance(json.loads(path.read_text(encoding="utf-8")), dict), path


def test_the_production_dagster_yaml_is_exactly_what_the_pipeline_writes_plus_comments():
    """What a new DAGSTER_HOME gets in production mode, byte for byte; then only comments. Should
    `dagster_yaml(postgres=True)` change, deploy/dagster.yaml must start with its new text."""
    text = DAGSTER_YAML.read_text(encoding="utf-8")
    written = dagster_yaml(postgres=True)
    assert text.startswith(written), (
        "deploy/dagster.yaml must begin with dagster_yaml(postgres=True), verbatim; rewrite its head with\n"
        "  .venv/bin/python -c \"from sonet_pipeline.jobs.instance import dagster_yaml; p = 'deploy/dagster.yaml';"
        " t = open(p).read(); open(p, 'w').write(dagster_yaml(postgres=True) + t[t.index(chr(10) + '# ====='):])\"\n"
        "and explain any new key in docs/deploy.md"
    )
    rest = [line for line in text[len(written) :].splitlines() if line.strip()]
    assert all(line.startswith("#") for line in rest), "after the written part, only comments"
    assert yaml.safe_load(text) == yaml.safe_load(written)
    for tag in ("ecs", "k8s", "s3-logs"):
        assert isinstance(yaml.safe_load(commented_block(text, tag)), dict), tag


@pytest.mark.postgres
def test_dagster_loads_the_production_instance_on_postgresql(postgres_database, tmp_path, monkeypatch):
    """A DAGSTER_HOME holding deploy/dagster.yaml, the DSN in the environment: Dagster validates it
    against its instance schema and opens the pipeline's PostgreSQL storage, queue and monitoring."""
    monkeypatch.setenv(settings.POSTGRES_DSN_ENV, postgres_database)
    (tmp_path / "dagster.yaml").write_text(DAGSTER_YAML.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    instance = DagsterInstance.get()
    try:
        storage = instance.get_ref().storage_data
        assert storage is not None
        assert (storage.module_name, storage.class_name) == (
            PipelinePostgresStorage.__module__,
            "PipelinePostgresStorage",
        )
        # psycopg2's driver and Dagster's own schema, from the one DSN.
        postgres_url = getattr(instance.run_storage, "postgres_url", "")
        assert postgres_url.startswith("postgresql+psycopg2://") and "search_path%3Ddagster" in postgres_url
        assert instance.get_runs() == []
        coordinator = instance.run_coordinator
        assert isinstance(coordinator, QueuedRunCoordinator)
        queue = instance.get_concurrency_config().run_queue_config
        assert queue is not None and queue.max_concurrent_runs == 4
        assert {limit["value"] for limit in queue.tag_concurrency_limits} >= {"sync", "send", "shop"}
        assert instance.run_monitoring_enabled
        assert not instance.telemetry_enabled
    finally:
        instance.dispose()


@pytest.mark.postgres
def test_the_commented_ecs_launcher_and_s3_compute_logs_are_valid_dagster_aws_config(
    postgres_database, tmp_path, monkeypatch, secretsmanager
):
    """Uncommented, the [ecs] and [s3-logs] sections load as dagster-aws's `EcsRunLauncher` (its keys
    checked, `run_task_kwargs` against ECS's RunTask) and `S3ComputeLogManager` (moto's S3); and the
    alternative, deploy/ecs-task-definition.json registered (moto's ECS) and named as `task_definition`,
    is found with its container `run`."""
    import boto3
    from dagster_aws.ecs import EcsRunLauncher
    from dagster_aws.s3.compute_log_manager import S3ComputeLogManager

    boto3.client("s3", region_name=AWS_TEST_REGION).create_bucket(
        Bucket="sonet-pipeline-logs", CreateBucketConfiguration={"LocationConstraint": AWS_TEST_REGION}
    )
    task_definition = json.loads((DEPLOY / "ecs-task-definition.json").read_text(encoding="utf-8"))
    boto3.client("ecs", region_name=AWS_TEST_REGION).register_task_definition(**task_definition)
    monkeypatch.setenv(settings.POSTGRES_DSN_ENV, postgres_database)
    text = DAGSTER_YAML.read_text(encoding="utf-8")
    ecs = commented_block(text, "ecs")
    own_definition = yaml.safe_load(ecs)
    own_definition["run_launcher"]["config"]["task_definition"] = task_definition["family"]
    for home, launcher_yaml in (("managed", ecs), ("registered", yaml.safe_dump(own_definition))):
        (tmp_path / home).mkdir()
        (tmp_path / home / "dagster.yaml").write_text(
            text + launcher_yaml + commented_block(text, "s3-logs"), encoding="utf-8"
        )
        instance = DagsterInstance.from_config(str(tmp_path / home))
        try:
            launcher = instance.run_launcher
            assert isinstance(launcher, EcsRunLauncher)
            assert launcher.run_task_kwargs["cluster"] == "sonet-pipeline"
            assert launcher.secrets_tags == []
            assert [secret["name"] for secret in launcher.secrets] == [settings.POSTGRES_DSN_ENV]
            if home == "managed":
                assert launcher.task_definition is None
                assert launcher.task_definition_dict["log_group"] == "/ecs/sonet-pipeline"
            else:
                assert str(launcher.task_definition).endswith(f"task-definition/{task_definition['family']}:1")
            assert isinstance(instance.compute_log_manager, S3ComputeLogManager)
        finally:
            instance.dispose()


@pytest.mark.postgres
def test_the_helm_values_storage_puts_dagsters_tables_in_the_dagster_schema(postgres_database, tmp_path, monkeypatch):
    """deploy/helm-values.yaml's `postgresql` section rendered as the chart renders it (run, event-log
    and schedule storage from one `postgres_db` with its `params` and `scheme`), pointed at the test
    server (its host, user and database; no `sslmode`, the test server has no TLS): Dagster connects
    with psycopg2 and keeps its tables in the schema `dagster`, none in `public`."""
    values = yaml.safe_load((DEPLOY / "helm-values.yaml").read_text(encoding="utf-8"))["postgresql"]
    assert values["enabled"] is False and values["postgresqlScheme"] == "postgresql+psycopg2"
    server = urlsplit(postgres_database)
    params = {key: value for key, value in values["postgresqlParams"].items() if key != "sslmode"}
    postgres_db = {
        "username": server.username,
        "password": {"env": "DAGSTER_PG_PASSWORD"},
        "hostname": server.hostname,
        "db_name": server.path.lstrip("/"),
        "port": server.port or 5432,
        "params": params,
        "scheme": values["postgresqlScheme"],
    }
    storages = {
        "run_storage": ("dagster_postgres.run_storage", "PostgresRunStorage"),
        "event_log_storage": ("dagster_postgres.event_log", "PostgresEventLogStorage"),
        "schedule_storage": ("dagster_postgres.schedule_storage", "PostgresScheduleStorage"),
    }
    config = {
        key: {"module": m, "class": c, "config": {"postgres_db": postgres_db}} for key, (m, c) in storages.items()
    }
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", server.password or "")
    with psycopg.connect(postgres_database, autocommit=True) as connection:
        connection.execute("CREATE SCHEMA IF NOT EXISTS dagster")  # the step docs/deploy.md asks for, once
    instance = DagsterInstance.from_config(str(tmp_path))
    try:
        assert instance.get_runs() == []
        assert getattr(instance.run_storage, "postgres_url", "").startswith("postgresql+psycopg2://")
    finally:
        instance.dispose()
    with psycopg.connect(postgres_database) as connection:
        tables = connection.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('dagster', 'public')"
        ).fetchall()
    assert {"runs", "event_logs", "jobs"} <= {name for schema, name in tables if schema == "dagster"}
    assert not [name for schema, name in tables if schema == "public"]


def dockerfile_command() -> list[str]:
    """The Dockerfile's CMD (the code location), as an argument list."""
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    match = re.search(r"^CMD (\[.*\])\s*$", text, re.MULTILINE)
    assert match, "the Dockerfile has an exec-form CMD"
    return json.loads(match.group(1))


def test_the_image_is_the_package_on_python_311_serving_the_code_location():
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim$", text, re.MULTILINE)
    assert re.search(r"^RUN pip install \. ", text, re.MULTILINE)
    assert "COPY deploy/dagster.yaml ${DAGSTER_HOME}/dagster.yaml" in text
    command = dockerfile_command()
    assert command[:3] == ["dagster", "code-server", "start"]
    assert command[command.index("-m") + 1] == "sonet_pipeline.definitions"


def test_the_workspace_the_image_and_pyproject_agree_on_the_code_location():
    [entry] = yaml.safe_load((DEPLOY / "workspace.yaml").read_text(encoding="utf-8"))["load_from"]
    server = entry["grpc_server"]
    command = dockerfile_command()
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["dagster"]
    assert server["location_name"] == command[command.index("--location-name") + 1]
    assert server["location_name"] == pyproject["code_location_name"]
    assert pyproject["module_name"] == command[command.index("-m") + 1]
    assert server["port"] == int(command[command.index("-p") + 1])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_the_images_command_serves_the_code_location_that_the_workspace_loads(tmp_path):
    """The Dockerfile's CMD, run here on a free port, passes Dagster's gRPC health check, and
    deploy/workspace.yaml (its host pointed here) loads the code location from it."""
    port = free_port()
    command = dockerfile_command()
    command[command.index("-h") + 1] = "127.0.0.1"
    command[command.index("-p") + 1] = str(port)
    command[0] = str(BIN / command[0])
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home")}
    (tmp_path / "home").mkdir()
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        health = [str(BIN / "dagster"), "api", "grpc-health-check", "-p", str(port)]
        deadline = time.monotonic() + 120
        while subprocess.run(health, env=env, capture_output=True).returncode != 0:
            assert server.poll() is None, f"the code server stopped: {server.stderr.read().decode()[-2000:]}"
            assert time.monotonic() < deadline, "the code server did not answer within 120 s"
            time.sleep(0.5)
        workspace = yaml.safe_load((DEPLOY / "workspace.yaml").read_text(encoding="utf-8"))
        workspace["load_from"][0]["grpc_server"].update(host="127.0.0.1", port=port)
        (tmp_path / "workspace.yaml").write_text(yaml.safe_dump(workspace), encoding="utf-8")
        validate = [str(BIN / "dagster"), "definitions", "validate", "-w", str(tmp_path / "workspace.yaml")]
        result = subprocess.run(validate, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        assert "sonet_pipeline" in result.stdout + result.stderr
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stderr is not None:
            server.stderr.close()


def test_shlex_reads_the_documented_commands_of_the_dockerfile():
    """The header lists how to start each role from the image; each is a command the image has."""
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    roles = dict(re.findall(r"^#   ([a-z ]+?)\s{2,}(?:\(default\)\s+)?(\S.*)$", text, re.MULTILINE))
    assert set(roles) == {"code location", "webserver", "daemon", "order intake"}
    executables = {shlex.split(command)[0] for command in roles.values()}
    assert executables <= {"dagster", "dagster-webserver", "dagster-daemon", "sonet-pipeline"}
    for executable in executables:
        assert (BIN / executable).exists(), f"{executable} is installed with the package"
