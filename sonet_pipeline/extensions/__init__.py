"""Partner extensions: merchant-specific code at five points of the flows, never edited into the core.

Dagster-free. `points` names the points and what each may change, `schemas/` holds each point's
payload and result as JSON schemas (package data), `extension` the `Extension` protocol, `kinds` the
registry of kinds (`python` here, `pipes` registered by the Dagster layer), `python_kind` the
in-process kind (entry points of the group `sonet_pipeline.extensions`), `runner` a chain applied to
one batch with its safety, `chains` a tenant's chains by point. See docs/extensions.md.
"""
