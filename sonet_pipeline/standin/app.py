"""The stand-in's ASGI application: the Query API, the Message API, the admin endpoints and `/health`.

With `config.changes_per_minute > 0`, simulated ERP activity runs as a background task for the app's
lifetime; at shutdown the journal (if any) is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sonet_pipeline.standin import activity
from sonet_pipeline.standin.admin import admin_routes
from sonet_pipeline.standin.admin_duplicates import duplicates_route
from sonet_pipeline.standin.graphql_api import query_endpoint
from sonet_pipeline.standin.message_api import messages_endpoint
from sonet_pipeline.standin.runtime import Standin


def create_app(standin: Standin) -> Starlette:
    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "companies": sorted(standin.companies)})

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        per_minute = standin.config.changes_per_minute
        task = asyncio.create_task(activity.run_activity(standin, per_minute)) if per_minute > 0 else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            close = getattr(standin.change_log, "close", None)
            if close is not None:
                close()  # fsync the journal's last lines; it reopens if the stand-in serves again

    routes = [
        Route("/health", health, methods=["GET"]),
        # GET is routed too, so that it gets the contract's 400 (after the guard), not a bare 405.
        Route("/graphql", query_endpoint(standin), methods=["GET", "POST"]),
        Route("/messages/sales-orders", messages_endpoint(standin), methods=["POST"]),
        *admin_routes(standin),
        duplicates_route(standin),  # a fault: records listed twice
    ]
    return Starlette(routes=routes, lifespan=lifespan)
