"""Admin endpoints under `/admin/...`: what tests, benchmarks and the demo use to look at and steer the
stand-in. A real Sonet has none of this. They answer only when `config.admin` is on (else 404) and only
to loopback clients (else 403).

    GET    /admin/companies                                   codes and record counts
    GET    /admin/companies/{code}/counters                   answers by API and status, arrivals
    GET    /admin/companies/{code}/state/{entity}             JSON Lines, every record (?visible_only=true)
    GET    /admin/companies/{code}/orders                     accepted orders
    POST   /admin/companies/{code}/changes                    {"entity", "records": [...], "delete": [keys],
                                                               "delay_seconds": n, "same_stamp": true}
    POST   /admin/companies/{code}/random-changes             {"count": n, "seed": s, "delay_seconds": n}
    POST   /admin/companies/{code}/bulk-update                {"entity": "items", "count": 1200, "percent": "3"}
    GET    /admin/faults   POST /admin/faults                 shares, slow seconds, Retry-After of faults,
                                                              hostile answers (`hostile.py`)
    POST   /admin/maintenance {"seconds": n}   DELETE /admin/maintenance
    GET    /admin/clock    POST /admin/clock {"advance_seconds": n} or {"set": iso}   (ManualClock only)
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.standin import activity, hostile
from sonet_pipeline.standin.admin_records import RecordError, check_entity, deletions, json_lines, merged_records
from sonet_pipeline.standin.graphql_api import format_datetime
from sonet_pipeline.standin.runtime import Company, Standin
from sonet_pipeline.standin.state import ENTITY_KEYS, Version, from_ms

Endpoint = Callable[[Request], Awaitable[Response]]
_FAULT_FIELDS = (
    "unavailable_share",
    "unavailable_retry_after",
    "lost_answer_share",
    "slow_share",
    "slow_seconds",
    "hostile_share",
    "hostile_body_bytes",
)
_WHOLE_FAULT_FIELDS = ("unavailable_retry_after", "hostile_body_bytes")


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def is_loopback(host: str | None) -> bool:
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def admin_routes(standin: Standin) -> list[Route]:
    def guarded(handler: Callable[[Request], Awaitable[Any]]) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            if not standin.config.admin:
                return JSONResponse({"error": "the admin endpoints are off"}, status_code=404)
            if not is_loopback(request.client.host if request.client else None):
                return JSONResponse({"error": "the admin endpoints answer loopback clients only"}, status_code=403)
            try:
                result = await handler(request)
            except (AdminError, RecordError, ValueError) as exc:
                status = exc.status if isinstance(exc, AdminError) else 400
                return JSONResponse({"error": str(exc)}, status_code=status)
            return result if isinstance(result, Response) else JSONResponse(result)

        return endpoint

    handlers = _Handlers(standin)
    company = "/admin/companies/{code}"
    return [
        Route("/admin/companies", guarded(handlers.companies), methods=["GET"]),
        Route(f"{company}/counters", guarded(handlers.counters), methods=["GET"]),
        Route(f"{company}/state/{{entity}}", guarded(handlers.state), methods=["GET"]),
        Route(f"{company}/orders", guarded(handlers.orders), methods=["GET"]),
        Route(f"{company}/changes", guarded(handlers.changes), methods=["POST"]),
        Route(f"{company}/random-changes", guarded(handlers.random_changes), methods=["POST"]),
        Route(f"{company}/bulk-update", guarded(handlers.bulk_update), methods=["POST"]),
        Route("/admin/faults", guarded(handlers.faults), methods=["GET", "POST"]),
        Route("/admin/maintenance", guarded(handlers.maintenance), methods=["POST", "DELETE"]),
        Route("/admin/clock", guarded(handlers.clock), methods=["GET", "POST"]),
    ]


class _Handlers:
    def __init__(self, standin: Standin) -> None:
        self.standin = standin

    def _company(self, request: Request) -> Company:
        code = request.path_params["code"]
        company = self.standin.companies.get(code)
        if company is None:
            raise AdminError(404, f"no company {code!r}")
        return company

    def _time(self, value: datetime) -> str:
        return format_datetime(value)

    async def companies(self, request: Request) -> Any:
        return {
            code: {
                entity: company.state.count(entity)
                for entity in ("items", "customers", "salesOrders", "priceListLines")
            }
            for code, company in self.standin.companies.items()
        }

    async def counters(self, request: Request) -> Any:
        return self._company(request).counters.as_json()

    async def state(self, request: Request) -> Response:
        company = self._company(request)
        entity = check_entity(request.path_params["entity"])
        visible_only = request.query_params.get("visible_only", "").lower() in ("1", "true", "yes")
        records = company.state.snapshot(entity, visible_only=visible_only)
        lines = json_lines(records, mixed_offsets=self.standin.config.mixed_offsets)
        return StreamingResponse(lines, media_type="application/x-ndjson")

    async def orders(self, request: Request) -> Any:
        company = self._company(request)
        with company.orders_lock:
            orders = list(company.orders.values())
        return [
            {
                "messageId": o.message_id,
                "sonetOrderNumber": o.sonet_order_number,
                "receivedAt": self._time(o.received_at),
                "webOrderNumber": o.web_order_number,
                "customerNumber": o.customer_number,
            }
            for o in orders
        ]

    async def changes(self, request: Request) -> Any:
        company = self._company(request)
        body = await _json_object(request)
        entity = check_entity(body.get("entity"))
        delay = _delay(body)
        with company.state.lock:  # merge and write as one step
            records = merged_records(company.state, entity, body.get("records") or [])
            records += deletions(company.state, entity, body.get("delete") or [])
            if not records:
                raise AdminError(400, "give records and/or delete keys")
            versions = self.standin.apply_change(
                company, entity, records, delay_seconds=delay, same_stamp=bool(body.get("same_stamp", True))
            )
        return {"written": len(versions), "versions": [self._version(v, entity) for v in versions]}

    def _version(self, version: Version, entity: str) -> dict[str, Any]:
        return {
            "key": version.record[ENTITY_KEYS[entity]],
            "dateModified": self._time(from_ms(version.modified_ms)),
            "visibleAt": self._time(from_ms(version.visible_ms)),
        }

    async def random_changes(self, request: Request) -> Any:
        company = self._company(request)
        body = await _json_object(request)
        delay = _delay(body)
        rng = random.Random(body.get("seed"))
        kinds = activity.random_changes(self.standin, company, _count(body), rng, delay_seconds=delay)
        return {"changed": sum(kinds.values()), "kinds": kinds}

    async def bulk_update(self, request: Request) -> Any:
        company = self._company(request)
        body = await _json_object(request)
        entity = check_entity(body.get("entity", "items"))
        percent = str(body.get("percent", "3"))
        return {"changed": activity.bulk_update(self.standin, company, entity, _count(body), percent=percent)}

    async def faults(self, request: Request) -> Any:
        faults = self.standin.config.faults
        if request.method == "POST":
            body = await _json_object(request)
            unknown = set(body) - set(_FAULT_FIELDS) - set(hostile.TEXT_SETTINGS)
            if unknown:
                raise AdminError(400, f"unknown fault settings: {', '.join(sorted(unknown))}")
            checked: dict[str, Any] = {
                name: hostile.check_text_setting(name, body[name]) for name in hostile.TEXT_SETTINGS if name in body
            }
            for name, value in body.items():
                if name in checked:
                    continue
                if not isinstance(value, int | float) or value < 0 or (name.endswith("_share") and value > 1):
                    raise AdminError(400, f"{name} must be a number >= 0 (a share at most 1)")
                checked[name] = int(value) if name in _WHOLE_FAULT_FIELDS else float(value)
            for name, value in checked.items():  # all checked first: a refused body changes nothing
                setattr(faults, name, value)
        settings = {name: getattr(faults, name) for name in (*_FAULT_FIELDS, *hostile.TEXT_SETTINGS)}
        windows = [[self._time(start), self._time(end)] for start, end in faults.maintenance]
        return {**settings, "maintenance": windows}

    async def maintenance(self, request: Request) -> Any:
        if request.method == "DELETE":
            self.standin.end_maintenance()
            return {"maintenance": None}
        seconds = (await _json_object(request)).get("seconds")
        if not isinstance(seconds, int | float) or seconds <= 0:
            raise AdminError(400, "seconds must be a number > 0")
        start, end = self.standin.start_maintenance(seconds)
        return {"maintenance": [self._time(start), self._time(end)]}

    async def clock(self, request: Request) -> Any:
        clock = self.standin.clock
        if request.method == "POST":
            if not isinstance(clock, ManualClock):
                raise AdminError(409, "the stand-in runs on the system clock; only a manual clock can be moved")
            body = await _json_object(request)
            if "advance_seconds" in body:
                seconds = body["advance_seconds"]
                if not isinstance(seconds, int | float):
                    raise AdminError(400, "advance_seconds must be a number")
                clock.advance(seconds)
            elif "set" in body:
                instant = datetime.fromisoformat(str(body["set"]))
                if instant.tzinfo is None:
                    raise AdminError(400, "set needs an ISO-8601 instant with a UTC offset")
                clock.set(instant)
            else:
                raise AdminError(400, 'give {"advance_seconds": n} or {"set": iso}')
        return {"now": self._time(clock.now()), "manual": isinstance(clock, ManualClock)}


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise AdminError(400, "the body must be JSON") from None
    if not isinstance(body, dict):
        raise AdminError(400, "the body must be a JSON object")
    return body


def _count(body: dict[str, Any]) -> int:
    count = body.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise AdminError(400, "count must be an integer >= 1")
    return count


def _delay(body: dict[str, Any]) -> float | None:
    delay = body.get("delay_seconds")
    if delay is not None and (not isinstance(delay, int | float) or delay < 0):
        raise AdminError(400, "delay_seconds must be a number >= 0")
    return delay
