"""A tenant whose Sonet token is an AWS Secrets Manager secret (moto), end to end through Dagster: the
CLI's `sync` loads the real definitions (dagster-aws's `SecretsManagerResource` bound once), the run
reads Sonet with the secret's token, and no output, log, run config or Dagster event shows the token;
a missing secret fails that tenant's sync with an error naming the secret."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from dagster import DagsterInstance

from sonet_pipeline.cli.main import main
from sonet_pipeline.config import settings
from tests.standin.standin_http import TOKENS, SonetClient

pytestmark = pytest.mark.slow


def write_tenants(sonet: SonetClient, folder: Path, monkeypatch: pytest.MonkeyPatch, token_secret: str) -> None:
    path = folder / "tenants.yaml"
    path.write_text(
        "tenants:\n  - name: acme\n"
        f"    sonet: {{base_url: '{sonet.base_url}', company: '01', token_secret: '{token_secret}'}}\n"
        "    intake_token_secret: acme/intake\n"
    )
    monkeypatch.setenv(settings.TENANTS_ENV, str(path))


def everything_dagster_kept() -> str:
    """Every run's config and tags and every event of every run in the instance, as text."""
    instance = DagsterInstance.get()
    texts = []
    for run in instance.get_runs():
        texts += [json.dumps(run.run_config, default=str), json.dumps(run.tags)]
        texts += [str(entry) for entry in instance.all_logs(run.run_id)]
    assert texts, "the run is in the instance"
    return "\n".join(texts)


def test_a_tenant_whose_token_is_a_secret_syncs_and_nothing_shows_the_token(
    sonet, secretsmanager, tmp_path, monkeypatch, capfd, caplog
):
    # The pipeline's own records at every level; botocore's DEBUG records (they carry request and answer
    # bodies) are the AWS SDK's own, and docs/deploy.md warns against enabling them in production.
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="sonet_pipeline")
    arn = secretsmanager.create_secret(Name="acme/sonet", SecretString=TOKENS["01"])["ARN"]
    secretsmanager.create_secret(Name="acme/intake", SecretString="intake-secret-token-5a1")
    write_tenants(sonet, tmp_path, monkeypatch, arn)

    assert main(["tenants", "check", "--json"]) == 0
    assert main(["sync", "--json"]) == 0
    out, err = capfd.readouterr()
    report, summary = (json.loads(line) for line in out.splitlines())
    assert report["tenants"][0]["missing_secrets"] == []
    assert summary["success"] and summary["tenants"]["acme"]["items"]["fetched"] > 0
    shown = "\n".join([out, err, caplog.text, everything_dagster_kept()])
    assert TOKENS["01"] not in shown and "intake-secret-token-5a1" not in shown


def test_a_missing_secret_fails_the_sync_naming_the_secret(sonet, secretsmanager, tmp_path, monkeypatch, capfd):
    """`tenants check` names the secret and exits 2; the sync's run fails with the secret named."""
    write_tenants(sonet, tmp_path, monkeypatch, "acme/sonet-missing")
    assert main(["tenants", "check", "--json"]) == 2
    report = json.loads(capfd.readouterr().out)
    assert report["tenants"][0]["missing_secrets"] == ["acme/sonet-missing", "acme/intake"]
    assert "acme/sonet-missing does not exist" in report["tenants"][0]["token_problems"][0]

    assert main(["sync", "--json"]) == 1
    summary = json.loads(capfd.readouterr().out)
    assert any("Secrets Manager secret acme/sonet-missing does not exist" in f for f in summary["failures"])
