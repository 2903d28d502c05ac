"""The same functions as `points.py`, run by sonet-pipeline through Dagster Pipes (kind `pipes`).

A batch function takes the batch (a list of JSON-ready dicts) and returns one dict per record, in
order. `serve` runs one as a local subprocess (the tenant file's `command`); `lambda_handler` shapes
one for AWS Lambda (its `function`). Both log through Pipes, so the lines show in the pipeline's
Dagster UI, and neither sees anything but its batch: no token, no other tenant's data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from dagster_pipes import PipesContext, PipesMappingParamsLoader, open_dagster_pipes

Batch = list[dict[str, Any]]
BatchFunction = Callable[[Batch], Batch]
LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def _apply(pipes: PipesContext, function: BatchFunction, batch: Batch, point: str) -> Batch:
    started = time.perf_counter()
    records = function(batch)
    pipes.log.info(f"{function.__name__} at {point}: {len(batch)} record(s) in {time.perf_counter() - started:.3f} s")
    return records


def serve(function: BatchFunction) -> None:
    """Run `function` on the batch Dagster passed (the Pipes extras) and report its records."""
    with open_dagster_pipes() as pipes:
        extras = pipes.extras
        records = _apply(pipes, function, list(extras["batch"]), str(extras.get("point")))
        pipes.report_custom_message({"records": records})


def lambda_handler(function: BatchFunction) -> LambdaHandler:
    """An AWS Lambda handler over `function`: the batch in the event, the records as the return value
    (Pipes messages travel in the log tail Lambda returns, 4 KB: enough for logs, not for a batch)."""

    def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        with open_dagster_pipes(params_loader=PipesMappingParamsLoader(event)) as pipes:
            records = _apply(pipes, function, list(event["batch"]), str(event.get("point")))
        return {"records": records}

    handler.__name__ = f"{function.__name__}_handler"
    return handler
