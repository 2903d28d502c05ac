"""The `pipes` kind of partner extension inside a Dagster step: the sample functions run for real as
subprocesses through Dagster Pipes (their logs are the step's events), in a clean environment, one call
per batch; an exit code, a timeout or a bad answer fails only the records given, named."""

# No `from __future__ import annotations`: Dagster reads the annotations of the decorated functions.

import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from sonet_pipeline.extensions.chains import TenantChains
from sonet_pipeline.extensions.extension import PIPES, ExtensionFailed, ExtensionSpec
from sonet_pipeline.extensions.points import CATALOGUE_LINE, RIGHTS, WEB_ORDER
from tests.partner_package import PACKAGE
from tests.resources.pipes_step import messages, run_in_step

SCRIPTS = PACKAGE / "pipes"
ORDERS = [{"orderNumber": "WEB-1"}, {"orderNumber": "WEB-2", "customerReference": "PO-7"}]


def spec(point: str, name: str, command: list[str], timeout: float = 30, **options: Any) -> ExtensionSpec:
    return ExtensionSpec("acme", point, name, PIPES, timeout, {"command": command, **options})


def script(tmp_path: Path, body: str) -> list[str]:
    """A Pipes external function of the test's own, run by this Python."""
    path = tmp_path / "function.py"
    path.write_text(textwrap.dedent(body))
    return [sys.executable, str(path)]


def test_the_sample_function_runs_as_a_subprocess_with_its_logs_in_the_step(partner_extensions):
    """One call for the batch; the records come back changed; the function's log line is a Dagster event."""
    command = [sys.executable, str(SCRIPTS / "web_order.py")]
    outcomes, result = run_in_step([spec(WEB_ORDER, "acme_reference_pipes", command)], {WEB_ORDER: ORDERS})
    assert result.success
    assert [o["customerReference"] for o in outcomes[WEB_ORDER]] == ["ACME-WEB-1", "PO-7"]
    logs = messages(result)
    assert any("customer_reference at web_order: 2 record(s)" in m for m in logs)
    assert any("extension acme_reference_pipes (web_order, pipes subprocess): 2" in m for m in logs)
    (observation,) = [e.asset_observation_data.asset_observation for e in result.get_asset_observation_events()]
    metadata = {name: value.value for name, value in observation.metadata.items() if name != "seconds"}
    assert metadata == {
        "extension": "acme_reference_pipes",
        "point": "web_order",
        "runs_on": "pipes subprocess",
        "records_given": 2,
        "records_returned": 2,
    }


def test_the_subprocess_sees_no_token_and_no_aws_key_only_what_the_tenant_file_names(tmp_path, monkeypatch):
    """A clean environment: PATH and the names the tenant file gives; no SONET_* token, no AWS key."""
    monkeypatch.setenv("SONET_ACME_TOKEN", "secret-token")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-key")
    monkeypatch.setenv("ACME_PARTNER_URL", "https://partner.example")
    command = script(
        tmp_path,
        """
        import os
        from dagster_pipes import open_dagster_pipes
        with open_dagster_pipes() as pipes:
            seen = sorted(k for k in os.environ if not k.startswith("DAGSTER_PIPES_"))
            pipes.report_custom_message({"records": [{**r, "seen": seen} for r in pipes.extras["batch"]]})
        """,
    )
    named = spec(RIGHTS, "acme_env", command, env=["ACME_PARTNER_URL"])
    outcomes, result = run_in_step([named], {RIGHTS: [{"login": "a@acme.example"}]})
    assert result.success
    (answer,) = outcomes[RIGHTS]
    assert isinstance(answer, ExtensionFailed)  # `seen` is no key a rights result may have ...
    assert "seen" in answer.reason  # ... and the runner says so; what it saw is checked below
    check = script(
        tmp_path,
        """
        import os
        from dagster_pipes import open_dagster_pipes
        with open_dagster_pipes() as pipes:
            bad = [k for k in os.environ if k.startswith(("SONET_", "AWS_"))]
            ok = os.environ.get("ACME_PARTNER_URL") == "https://partner.example"
            pipes.log.info(f"forbidden: {bad}; named: {ok}")
            pipes.report_custom_message({"records": pipes.extras["batch"]})
        """,
    )
    outcomes, result = run_in_step([spec(WEB_ORDER, "acme_env", check, env=["ACME_PARTNER_URL"])], {WEB_ORDER: ORDERS})
    assert outcomes[WEB_ORDER] == ORDERS
    assert any("forbidden: []; named: True" in m for m in messages(result))


@pytest.mark.parametrize(
    ("body", "timeout", "reason"),
    [
        ("import sys; sys.stderr.write('partner down'); sys.exit(3)", 30, "exited with code 3: partner down"),
        ("import time; time.sleep(60)", 1.5, "timed out after 1.5 s"),
        (
            """
            from dagster_pipes import open_dagster_pipes
            with open_dagster_pipes() as pipes:
                pipes.report_custom_message({"records": "not a list"})
            """,
            30,
            'is not {"records": [...]}',
        ),
        (
            "from dagster_pipes import open_dagster_pipes\nwith open_dagster_pipes():\n    pass\n",
            30,
            "reported no result",
        ),
    ],
    ids=["exit-nonzero", "timeout", "invalid-result", "no-result"],
)
def test_a_failing_function_fails_only_its_records_named(tmp_path, body, timeout, reason):
    """The batch it was given fails with "extension <name>: <reason>"; the step and the other point go on."""
    bad = spec(WEB_ORDER, "acme_faulty", script(tmp_path, body), timeout)
    good = spec(CATALOGUE_LINE, "acme_noop_pipes", [sys.executable, str(SCRIPTS / "noop.py")])
    outcomes, result = run_in_step([bad, good], {WEB_ORDER: ORDERS, CATALOGUE_LINE: [{"sku": "A-1"}]})
    assert result.success
    failures = outcomes[WEB_ORDER]
    assert all(isinstance(f, ExtensionFailed) for f in failures) and len(failures) == 2
    assert all(f.message.startswith("extension acme_faulty: ") and reason in f.message for f in failures)
    assert outcomes[CATALOGUE_LINE] == [{"sku": "A-1"}]


def test_outside_a_bound_step_a_pipes_extension_fails_its_records_named():
    """The intake or a CLI without Dagster: the kind is not there, the records fail, nothing runs."""
    chains = TenantChains("acme", [spec(WEB_ORDER, "acme_reference_pipes", ["true"])])
    (failed, _) = chains.apply(WEB_ORDER, ORDERS)
    assert isinstance(failed, ExtensionFailed) and failed.extension == "acme_reference_pipes"
