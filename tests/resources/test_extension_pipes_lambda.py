"""The `pipes` kind on AWS Lambda (dagster-aws `PipesLambdaClient`), the Lambda API stubbed on the boto3
client it calls: the sample handler answers the batch with its records and its Pipes logs reach the step;
a function error, an answer that is not JSON or not `{"records": [...]}` fails only the records given."""

# No `from __future__ import annotations`: Dagster reads the annotations of the decorated functions.

import base64
import io
import json
import subprocess
import sys
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import ANY, Stubber
from dagster import AssetExecutionContext, MaterializeResult, asset, materialize

from sonet_pipeline.extensions.chains import TenantChains
from sonet_pipeline.extensions.extension import PIPES, ExtensionFailed, ExtensionSpec
from sonet_pipeline.extensions.points import CATALOGUE_LINE, WEB_ORDER
from sonet_pipeline.resources.extension_pipes import PipesExtensionsResource
from tests.resources import pipes_step

ORDERS = [{"orderNumber": "WEB-1"}, {"orderNumber": "WEB-2", "customerReference": "PO-7"}]
#: Lambda returns the last 4 KB of the function's log with a synchronous call (`LogType=Tail`).
LOG_TAIL = 4096


@pytest.fixture
def lambda_client(monkeypatch):
    """A real boto3 Lambda client that never reaches AWS (fake keys; each test stubs its calls)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return boto3.client("lambda", region_name="eu-central-1")


class LambdaOf(PipesExtensionsResource):
    """The deployment with Lambda enabled, its client the test's (a resource of the test, not the package)."""

    def lambda_client(self, timeout_seconds: float) -> Any:
        return CLIENTS[-1]


CLIENTS: list[Any] = []


def run_in_step(client, specs: list[ExtensionSpec], batches: dict[str, list[dict[str, Any]]]):
    """`pipes_step.run_in_step` with Lambda enabled on `client`; (outcomes, the run's log lines)."""
    CLIENTS.append(client)
    outcomes, result = pipes_step.run_in_step(specs, batches, LambdaOf(lambda_enabled=True))
    assert result.success
    return outcomes, pipes_step.messages(result)


def spec(point: str, name: str, function: str, **options: Any) -> ExtensionSpec:
    return ExtensionSpec("acme", point, name, PIPES, 30, {"function": function, **options})


def emulate(client, handler: str) -> list[dict[str, Any]]:
    """Lambda on the client's `Invoke`: the sample handler `handler` run in a process of its own on the
    event, its return value the answer, its stderr the log tail; the events it was given, in order."""
    seen: list[dict[str, Any]] = []

    def invoke(params, **_kwargs):
        event = json.loads(params["body"])
        seen.append(event)
        code = (
            "import json, sys\n"
            f"from acme_partner_extensions.lambda_handler import {handler}\n"
            f"print(json.dumps({handler}(json.load(sys.stdin), None)))\n"
        )
        done = subprocess.run([sys.executable, "-c", code], input=json.dumps(event), capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        parsed = {
            "StatusCode": 200,
            "ExecutedVersion": "$LATEST",
            "LogResult": base64.b64encode(done.stderr.encode()[-LOG_TAIL:]).decode(),
            "Payload": io.BytesIO(done.stdout.encode()),
        }
        return AWSResponse("https://lambda.invalid", 200, {}, None), parsed

    client.meta.events.register("before-call.lambda.Invoke", invoke)
    return seen


def test_the_sample_handler_answers_the_batch_in_one_call_with_its_logs_in_the_step(lambda_client):
    seen = emulate(lambda_client, "web_order")
    with_command = spec(WEB_ORDER, "acme_reference_lambda", "acme-web-order", command=["false"])
    outcomes, logs = run_in_step(lambda_client, [with_command], {WEB_ORDER: ORDERS})
    assert [o["customerReference"] for o in outcomes[WEB_ORDER]] == ["ACME-WEB-1", "PO-7"]
    assert len(seen) == 1 and seen[0]["batch"] == ORDERS and seen[0]["point"] == WEB_ORDER
    assert any("customer_reference at web_order: 2 record(s)" in m for m in logs)
    assert any("extension acme_reference_lambda (web_order, pipes lambda): 2" in m for m in logs)


def _answer(payload: bytes, **extra: Any) -> dict[str, Any]:
    return {"StatusCode": 200, "Payload": io.BytesIO(payload), "LogResult": "", **extra}


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            _answer(b'{"errorMessage": "partner down", "errorType": "RuntimeError"}', FunctionError="Unhandled"),
            "Lambda Function Error (Unhandled): partner down",
        ),
        (_answer(b"<html>not json</html>"), "its answer is not JSON"),
        (_answer(b'{"rows": []}'), 'its answer is not {"records": [...]}'),
        (_answer(b'{"records": [{"orderNumber": "WEB-1"}]}'), "returned 1 records for 2"),
    ],
    ids=["function-error", "invalid-json", "invalid-shape", "too-few-records"],
)
def test_a_bad_answer_fails_only_the_records_given_named(lambda_client, answer, reason):
    stubber = Stubber(lambda_client)
    expected = {
        "FunctionName": "acme-web-order",
        "InvocationType": "RequestResponse",
        "LogType": "Tail",
        "Payload": ANY,
    }
    stubber.add_response("invoke", answer, expected)
    other = _answer(b'{"records": [{"sku": "A-1"}]}')  # the other point's function answers well
    stubber.add_response("invoke", other, {**expected, "FunctionName": "acme-noop"})
    with stubber:
        outcomes, _ = run_in_step(
            lambda_client,
            [spec(WEB_ORDER, "acme_faulty_lambda", "acme-web-order"), spec(CATALOGUE_LINE, "acme_noop", "acme-noop")],
            {WEB_ORDER: ORDERS, CATALOGUE_LINE: [{"sku": "A-1"}]},
        )
    stubber.assert_no_pending_responses()
    failures = outcomes[WEB_ORDER]
    assert len(failures) == 2 and all(isinstance(f, ExtensionFailed) for f in failures)
    assert all(f.message.startswith("extension acme_faulty_lambda: ") and reason in f.message for f in failures)
    assert outcomes[CATALOGUE_LINE] == [{"sku": "A-1"}]


def test_only_a_lambda_function_and_lambda_not_enabled_fails_its_records_named():
    specs = [spec(WEB_ORDER, "acme_reference_lambda", "acme-web-order")]
    outcomes: dict[str, Any] = {}

    @asset
    def extended(context: AssetExecutionContext, extension_pipes: PipesExtensionsResource) -> MaterializeResult:
        with extension_pipes.bound(context):
            outcomes["web"] = TenantChains("acme", specs).apply(WEB_ORDER, ORDERS)
        return MaterializeResult()

    assert materialize([extended], resources={"extension_pipes": PipesExtensionsResource()}).success
    assert all("this deployment runs none (SONET_PIPELINE_EXTENSIONS_LAMBDA)" in f.message for f in outcomes["web"])
