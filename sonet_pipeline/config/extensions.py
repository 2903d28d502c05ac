"""The tenant file's `extensions:` section: per point, the tenant's extensions in the order they run.

```yaml
extensions:
  web_order:
    - {name: acme_delivery_method, kind: python, timeout_seconds: 5}
```

A `pipes` extension (an external function run through Dagster Pipes, `resources/extension_pipes.py`)
names its `command` (a local subprocess) and/or its `function` (AWS Lambda), and the variables of ours
its subprocess may see (`env`; never a `SONET_`, `AWS_` or `DAGSTER_` one).

Checked at load: a point that is none of the five, a kind that is neither `python` nor `pipes`, a
timeout out of range, a name given twice at one point, and a `python` extension whose name no
installed package registers under the entry-point group `sonet_pipeline.extensions` are each an
error naming the point and the extension (docs/extensions.md).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from sonet_pipeline.extensions.extension import PIPES, PYTHON, ExtensionSpec
from sonet_pipeline.extensions.points import CATALOGUE_LINE, POINTS, RIGHTS, SALES_ORDER, SYNCED_RECORD, WEB_ORDER
from sonet_pipeline.extensions.python_kind import UnknownEntryPointError, find_entry_point

EXTENSION_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_.\-]{0,79}$"
#: Variables a `pipes` subprocess may never be given: the pipeline's tokens and settings, AWS and Dagster's.
FORBIDDEN_ENV_PREFIXES = ("SONET_", "AWS_", "DAGSTER_")


class ExtensionRef(BaseModel):
    """One extension at one point."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: The entry-point name (kind `python`), or the Pipes extension's name (kind `pipes`).
    name: str = Field(pattern=EXTENSION_NAME_PATTERN)
    #: `python`: a callable in an installed package; `pipes`: an external function run through Dagster Pipes.
    kind: Literal["python", "pipes"] = "python"
    #: How long one call (one batch) may take before its records fail.
    timeout_seconds: float = Field(default=10, gt=0, le=900)
    #: Kind `pipes`: the local subprocess's command (no shell), run by default.
    command: list[str] | None = Field(default=None, min_length=1)
    #: Kind `pipes`: the AWS Lambda function (name or ARN), run when the deployment enables Lambda.
    function: str | None = Field(default=None, min_length=1)
    #: Kind `pipes`: the variables of our environment the subprocess gets, by name (never a token).
    env: list[str] = []

    @model_validator(mode="after")
    def _runs_somewhere(self) -> ExtensionRef:
        pipes_keys = [key for key in ("command", "function", "env") if getattr(self, key)]
        if self.kind == PYTHON and pipes_keys:
            raise ValueError(f"extension {self.name!r}: {', '.join(pipes_keys)} only for kind pipes")
        if self.kind == PIPES and not (self.command or self.function):
            raise ValueError(f"extension {self.name!r}: kind pipes needs a command or a function (AWS Lambda)")
        forbidden = [name for name in self.env if name.upper().startswith(FORBIDDEN_ENV_PREFIXES)]
        if forbidden:
            raise ValueError(
                f"extension {self.name!r}: env may not pass {', '.join(forbidden)} "
                f"(names starting {', '.join(FORBIDDEN_ENV_PREFIXES)}: tokens and keys stay ours)"
            )
        return self

    def options(self) -> dict[str, Any]:
        """What the kind needs beyond the name (`ExtensionSpec.options`): the pipes kind's places."""
        if self.kind != PIPES:
            return {}
        return {"command": self.command, "function": self.function, "env": list(self.env)}

    @model_validator(mode="after")
    def _installed(self) -> ExtensionRef:
        if self.kind == PYTHON:
            try:
                find_entry_point(self.name)
            except UnknownEntryPointError as exc:
                raise ValueError(f"extension {self.name!r}: {exc}") from None
        return self


class Extensions(BaseModel):
    """Per point, its extensions in order (all empty: the flows run as without extensions)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: A web order after intake validation, before it is mapped (the sender).
    web_order: list[ExtensionRef] = []
    #: A SalesOrder's XML before it is stored and sent.
    sales_order: list[ExtensionRef] = []
    #: A synced record before the shop's model reads it.
    synced_record: list[ExtensionRef] = []
    #: An extra rights rule before the tenant's rules (it may only restrict).
    rights: list[ExtensionRef] = []
    #: A catalogue line before it is published.
    catalogue_line: list[ExtensionRef] = []

    @model_validator(mode="before")
    @classmethod
    def _known_points(cls, value: Any) -> Any:
        if isinstance(value, dict):
            unknown = sorted(str(key) for key in value if key not in POINTS)
            if unknown:
                raise ValueError(
                    f"unknown extension point(s) {', '.join(unknown)}; the points are: {', '.join(POINTS)}"
                )
        return value

    @field_validator(WEB_ORDER, SALES_ORDER, SYNCED_RECORD, RIGHTS, CATALOGUE_LINE)
    @classmethod
    def _unique_names(cls, value: list[ExtensionRef]) -> list[ExtensionRef]:
        names = [ref.name for ref in value]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"an extension runs once per point; repeated: {', '.join(repeated)}")
        return value

    @field_validator(SYNCED_RECORD, RIGHTS)
    @classmethod
    def _python_where_the_intake_applies(cls, value: list[ExtensionRef], info: ValidationInfo) -> list[ExtensionRef]:
        """The order intake applies these points itself, to every order, outside Dagster's runs, where no
        Pipes session can be opened: a `pipes` extension there would refuse every order at the door."""
        piped = [ref.name for ref in value if ref.kind == PIPES]
        if piped:
            raise ValueError(
                f"extension(s) {', '.join(piped)} at {info.field_name}: kind pipes cannot run here, the order "
                "intake applies this point to every order outside Dagster's runs; use kind python "
                "(docs/extensions.md)"
            )
        return value

    def specs(self, tenant: str) -> list[ExtensionSpec]:
        """Every extension as the flows take it (`extensions.chains.TenantChains`), by point in order."""
        return [
            ExtensionSpec(
                tenant=tenant,
                point=point,
                name=ref.name,
                kind=ref.kind,
                timeout_seconds=ref.timeout_seconds,
                options=ref.options(),
            )
            for point in POINTS
            for ref in getattr(self, point)
        ]


__all__ = ["PIPES", "PYTHON", "ExtensionRef", "Extensions"]
