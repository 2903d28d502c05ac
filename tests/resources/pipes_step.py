"""Partner extensions run inside one Dagster materialization, for the `pipes` kind's tests (a subprocess
or AWS Lambda): each point's batch through the tenant's chains, with the step's event log at hand."""

# No `from __future__ import annotations`: Dagster reads the annotations of the decorated functions.

from typing import Any

from dagster import AssetExecutionContext, DagsterInstance, MaterializeResult, asset, materialize

from sonet_pipeline.extensions.chains import TenantChains
from sonet_pipeline.extensions.extension import ExtensionSpec
from sonet_pipeline.resources.extension_pipes import PipesExtensionsResource


def run_in_step(
    specs: list[ExtensionSpec],
    batches: dict[str, list[dict[str, Any]]],
    resource: PipesExtensionsResource | None = None,
):
    """Each point's batch through acme's chains inside one materialization with `resource` (default: the
    deployment's defaults); (outcomes by point, result), the result's `instance` set for `messages`."""
    outcomes: dict[str, list[Any]] = {}

    @asset
    def extended(context: AssetExecutionContext, extension_pipes: PipesExtensionsResource) -> MaterializeResult:
        chains = TenantChains("acme", specs)
        with extension_pipes.bound(context):
            for point, batch in batches.items():
                outcomes[point] = chains.apply(point, batch)
        return MaterializeResult(metadata={"points": len(outcomes)})

    instance = DagsterInstance.ephemeral()
    resources = {"extension_pipes": resource or PipesExtensionsResource()}
    result = materialize([extended], resources=resources, instance=instance)
    result.instance = instance
    return outcomes, result


def messages(result) -> list[str]:
    """Every line of the run's event log (the step's logs, the Pipes function's logs among them)."""
    return [entry.user_message for entry in result.instance.all_logs(result.run_id)]
