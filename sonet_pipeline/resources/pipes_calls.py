"""One batch through Dagster Pipes: a local subprocess, or an AWS Lambda function (dagster-aws).

Both open a Pipes session on the step's context, so what the external function logs (`pipes.log`) and
reports arrives as the step's Dagster events. The batch goes as the session's extras (subprocess: the
context file) or in the Lambda event; the records come back as the function's last custom message
`{"records": [...]}` (subprocess) or its return value `{"records": [...]}` (Lambda: the Pipes messages
come from the 4 KB log tail, too small for a batch). `examples/partner-extensions/` has both shapes.

`PipesSubprocessClient` passes the parent's whole environment and waits without a deadline, so the
subprocess is started here through `open_pipes_session`: a clean environment (PATH, the locale and the
variables the tenant file names; never a SONET_* token or our AWS keys) and a deadline past which the
process group is killed.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

from dagster import (
    AssetExecutionContext,
    OpExecutionContext,
    PipesClientCompletedInvocation,
    PipesTempFileContextInjector,
    PipesTempFileMessageReader,
    open_pipes_session,
)
from dagster_aws.pipes import PipesLambdaClient

Records = list[dict[str, Any]]
StepContext = AssetExecutionContext | OpExecutionContext

#: Variables a subprocess always gets from ours (none of them a secret).
BASE_ENV = ("PATH", "LANG", "LC_ALL", "TZ")
#: How much of a failed subprocess's stderr its reason quotes.
STDERR_TAIL = 400


class PipesCallError(Exception):
    """The external function failed its batch: the reason names why (exit code, timeout, bad answer)."""


def clean_env(names: Sequence[str], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The subprocess's environment: `BASE_ENV` and `names`, each only when set in `environ`."""
    source = os.environ if environ is None else environ
    return {name: source[name] for name in (*BASE_ENV, *names) if name in source}


def run_subprocess(
    context: StepContext,
    command: Sequence[str],
    extras: Mapping[str, Any],
    *,
    env: Mapping[str, str],
    timeout_seconds: float,
    cwd: str | None = None,
) -> Records:
    """`command` under Pipes with `extras`; its records, or `PipesCallError`."""
    with open_pipes_session(
        context=context,
        context_injector=PipesTempFileContextInjector(),
        message_reader=PipesTempFileMessageReader(),
        extras=dict(extras),
    ) as session:
        process = subprocess.Popen(  # the tenant file's command, no shell
            list(command),
            env={**env, **session.get_bootstrap_env_vars()},
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: a timeout kills its children too
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise PipesCallError(f"timed out after {timeout_seconds:g} s; the process was killed") from None
        except BaseException:  # the run was interrupted: leave no process behind
            _kill_group(process)
            raise
        _forward_output(context, stdout, stderr)
        if process.returncode != 0:
            tail = stderr.decode("utf-8", "replace").strip()[-STDERR_TAIL:]
            raise PipesCallError(f"exited with code {process.returncode}" + (f": {tail}" if tail else ""))
    return _reported_records(PipesClientCompletedInvocation(session))


def run_lambda(context: StepContext, lambda_client: Any, function_name: str, event: Mapping[str, Any]) -> Records:
    """`function_name` invoked through `PipesLambdaClient` with `event`; its records, or `PipesCallError`."""
    keeping = _AnswerKeepingLambda(lambda_client)
    try:
        PipesLambdaClient(client=keeping).run(function_name=function_name, event=dict(event), context=context)
    except PipesCallError:
        raise
    except Exception as exc:  # a function error, or the Lambda API refused the call
        raise PipesCallError(_first_line(str(exc)).rstrip(":") + _error_message(keeping.payload)) from None
    if keeping.payload is None:
        raise PipesCallError("the Lambda API gave no answer")
    return _records_of(_json(keeping.payload, "its answer"), "its answer")


class _AnswerKeepingLambda:
    """A boto3 Lambda client that keeps the function's answer (`PipesLambdaClient` reads only errors)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.payload: bytes | None = None

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        response = dict(self._client.invoke(**kwargs))
        self.payload = response["Payload"].read()
        response["Payload"] = io.BytesIO(self.payload)
        return response


def _reported_records(invocation: PipesClientCompletedInvocation) -> Records:
    answers = [m for m in invocation.get_custom_messages() if isinstance(m, dict) and "records" in m]
    if not answers:
        raise PipesCallError('reported no result (report_custom_message({"records": [...]}))')
    return _records_of(answers[-1], "its result")


def _records_of(answer: Any, what: str) -> Records:
    if not isinstance(answer, dict) or not isinstance(answer.get("records"), list):
        raise PipesCallError(f'{what} is not {{"records": [...]}}: {_first_line(json.dumps(answer))[:120]}')
    records: Records = answer["records"]
    return records


def _json(payload: bytes, what: str) -> Any:
    try:
        return json.loads(payload)
    except ValueError as exc:
        raise PipesCallError(f"{what} is not JSON ({exc}): {payload[:80]!r}") from None


def _error_message(payload: bytes | None) -> str:
    """A function error's `errorMessage` (Lambda's shape), when there is one."""
    try:
        message = json.loads(payload or b"{}").get("errorMessage")
    except (ValueError, AttributeError):
        return ""
    return f": {_first_line(str(message))}" if message else ""


def _forward_output(context: StepContext, stdout: bytes, stderr: bytes) -> None:
    """What the process printed outside Pipes, into the step's log (debug: the partner's own words)."""
    for name, data in (("stdout", stdout), ("stderr", stderr)):
        text = data.decode("utf-8", "replace").strip()
        if text:
            context.log.debug("[pipes %s] %s", name, text[-4000:])


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text
