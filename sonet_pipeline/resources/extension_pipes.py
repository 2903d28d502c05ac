"""The `pipes` kind of partner extension: an external function run through Dagster Pipes.

A tenant file names it with `kind: pipes` and says where it runs: `command` (a local subprocess, the
default) and/or `function` (an AWS Lambda function, used when the deployment enables Lambda:
`SONET_PIPELINE_EXTENSIONS_LAMBDA=1`, region and credentials from the usual AWS chain). One call per
run and point carries the whole batch (`resources/pipes_calls.py`); its logs and what it reports are
the step's Dagster events, and each call an observation of the asset the point shapes (extension,
point, where it ran, records given and returned, seconds). The core's runner (`extensions/runner.py`)
applies the deadline, checks the result and fails only the records given, named
"extension <name>: <reason>".

A Pipes session needs the step's context, so the assets of the send and shop runs hold
`PipesExtensionsResource.bound(context)` around the flow: the kind is registered in this process
(`extensions/kinds.py`) and each call runs on the step bound at that moment. Outside a bound step (the
intake, a CLI without Dagster) a `pipes` extension fails its records, named.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from dagster import AssetObservation, ConfigurableResource, MetadataValue

from sonet_pipeline.extensions.extension import PIPES, ExtensionSpec
from sonet_pipeline.extensions.kinds import register_kind
from sonet_pipeline.extensions.points import CATALOGUE_LINE, RIGHTS, SALES_ORDER, WEB_ORDER
from sonet_pipeline.resources.pipes_calls import (
    PipesCallError,
    Records,
    StepContext,
    clean_env,
    run_lambda,
    run_subprocess,
)


class NotInStepError(RuntimeError):
    """A `pipes` extension called outside a Dagster step that bound the kind."""


@dataclass
class _Binding:
    context: StepContext
    settings: PipesExtensionsResource


class _Bound:
    """The step the `pipes` calls of this process run on (a run's steps run one at a time per process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stack: list[_Binding] = []

    def push(self, binding: _Binding) -> None:
        with self._lock:
            self._stack.append(binding)

    def pop(self, binding: _Binding) -> None:
        with self._lock:
            self._stack.remove(binding)

    def current(self) -> _Binding:
        with self._lock:
            if not self._stack:
                raise NotInStepError("the pipes kind runs only inside a Dagster step (a send or shop run)")
            return self._stack[-1]


_BOUND = _Bound()


@dataclass(frozen=True)
class PipesExtension:
    """An `Extension` whose `call` is one Pipes invocation with the whole batch."""

    spec: ExtensionSpec
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def point(self) -> str:
        return self.spec.point

    def call(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        binding = _BOUND.current()
        return binding.settings.invoke(binding.context, self.spec, batch)


def pipes_extension(spec: ExtensionSpec) -> PipesExtension:
    """The kind's factory (`extensions.kinds.register_kind`): checks that the spec says where it runs."""
    if not spec.options.get("command") and not spec.options.get("function"):
        raise ValueError(f"pipes extension {spec.name!r} names neither a command nor a Lambda function")
    return PipesExtension(spec, dict(spec.options))


class PipesExtensionsResource(ConfigurableResource):
    """Where `pipes` extensions run: a subprocess, or Lambda when `lambda_enabled` and the extension
    names a `function`. `cwd` is the subprocesses' working directory (default: ours)."""

    lambda_enabled: bool = False
    lambda_region: str | None = None
    cwd: str | None = None

    @contextmanager
    def bound(self, context: StepContext) -> Iterator[None]:
        """Within: `pipes` extensions are available in this process and run on `context`'s step."""
        register_kind(PIPES, pipes_extension)
        binding = _Binding(context, self)
        _BOUND.push(binding)
        try:
            yield
        finally:
            _BOUND.pop(binding)

    def lambda_client(self, timeout_seconds: float) -> Any:
        """A boto3 Lambda client that waits for the function up to its deadline, without retries."""
        config = Config(read_timeout=max(1, int(timeout_seconds) + 1), retries={"max_attempts": 1})
        return boto3.client("lambda", region_name=self.lambda_region, config=config)

    def invoke(self, context: StepContext, spec: ExtensionSpec, batch: Records) -> Records:
        """One batch through the extension's external function; its records (the runner checks them)."""
        function, command = spec.options.get("function"), spec.options.get("command")
        where = "lambda" if function and (self.lambda_enabled or not command) else "subprocess"
        context.log.info(
            "extension %s (%s, pipes %s): %d %s record(s) of %s",
            spec.name,
            spec.point,
            where,
            len(batch),
            spec.point,
            spec.tenant,
        )
        event = {"tenant": spec.tenant, "point": spec.point, "extension": spec.name, "batch": batch}
        started = time.perf_counter()
        if where == "lambda":
            if not self.lambda_enabled:
                raise PipesCallError(
                    f"extension {spec.name!r} names only a Lambda function and this deployment runs none "
                    "(SONET_PIPELINE_EXTENSIONS_LAMBDA)"
                )
            records = run_lambda(context, self.lambda_client(spec.timeout_seconds), str(function), event)
        else:
            env_names = [str(name) for name in spec.options.get("env", [])]
            records = run_subprocess(
                context,
                _command(command),
                event,
                env=clean_env(env_names),
                timeout_seconds=spec.timeout_seconds,
                cwd=self.cwd,
            )
        _observe(context, spec, where, len(batch), len(records), time.perf_counter() - started)
        return records


def _observe(context: StepContext, spec: ExtensionSpec, where: str, given: int, got: int, seconds: float) -> None:
    """The call as an observation of the step's asset the point shapes (its metadata in the UI)."""
    keys = sorted(context.selected_asset_keys, key=lambda key: key.to_user_string())
    flow = "orders" if spec.point in (WEB_ORDER, SALES_ORDER) else "shop"
    ours = [k for k in keys if len(k.path) > 2 and k.path[1] == flow] or keys
    file = {CATALOGUE_LINE: "catalogue", RIGHTS: "rights"}.get(spec.point)
    key = next((k for k in ours if k.path[-1] == file), ours[0] if ours else None)
    if key is None:
        return
    metadata = {
        "extension": MetadataValue.text(spec.name),
        "point": MetadataValue.text(spec.point),
        "runs_on": MetadataValue.text(f"pipes {where}"),
        "records_given": MetadataValue.int(given),
        "records_returned": MetadataValue.int(got),
        "seconds": MetadataValue.float(round(seconds, 3)),
    }
    context.log_event(AssetObservation(asset_key=key, metadata=metadata))


def _command(command: Any) -> list[str]:
    if isinstance(command, str):
        return command.split()
    return [str(part) for part in command]
