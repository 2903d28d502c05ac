"""A fault of a faulty Sonet, steered through the admin endpoints: a record listed twice.

    POST /admin/companies/{code}/duplicates   {"entity": "items", "records": [{"itemCode": ..., ...}]}

Each record (a partial change, merged into its key's newest version and checked as `/changes` does)
is listed by the Query API as a second row of its key, right after the real one and with the same
`dateModified`: two different versions of one key, and no way to tell which is true. A newer version
of the key (any `/changes`) ends the fault for it. Not journaled: a restart forgets it. Like every
admin endpoint, it answers only when `config.admin` is on and only to loopback clients.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sonet_pipeline.standin.admin import is_loopback
from sonet_pipeline.standin.admin_records import RecordError, check_entity, duplicate_rows
from sonet_pipeline.standin.graphql_api import format_datetime
from sonet_pipeline.standin.runtime import Standin
from sonet_pipeline.standin.state import ENTITY_KEYS, from_ms


def duplicates_route(standin: Standin) -> Route:
    async def endpoint(request: Request) -> Response:
        if not standin.config.admin:
            return JSONResponse({"error": "the admin endpoints are off"}, status_code=404)
        if not is_loopback(request.client.host if request.client else None):
            return JSONResponse({"error": "the admin endpoints answer loopback clients only"}, status_code=403)
        company = standin.companies.get(request.path_params["code"])
        if company is None:
            return JSONResponse({"error": f"no company {request.path_params['code']!r}"}, status_code=404)
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise RecordError("the body must be a JSON object")
            entity = check_entity(body.get("entity"))
            with company.state.lock:
                rows = duplicate_rows(company.state, entity, body.get("records"))
                versions = company.state.list_twice(entity, rows)
        except ValueError as exc:  # RecordError, or a body that is not JSON
            return JSONResponse({"error": str(exc) or "the body must be JSON"}, status_code=400)
        listed = [
            {"key": v.record[ENTITY_KEYS[entity]], "dateModified": format_datetime(from_ms(v.modified_ms))}
            for v in versions
        ]
        return JSONResponse({"duplicated": len(listed), "versions": listed})

    return Route("/admin/companies/{code}/duplicates", endpoint, methods=["POST"])
