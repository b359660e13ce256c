"""`GET /health` in application/health+json, one check per dependency."""

from __future__ import annotations

import ipaddress
import time

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from ticketd import __version__
from ticketd.core.clock import utcnow
from ticketd.core.errors import Unauthenticated
from ticketd.core.principal import Role
from ticketd.faces.native.deps import ServicesDep
from ticketd.limiting.counters import Counters
from ticketd.web.credentials import principal_from_header

router = APIRouter(tags=["health"])

HEALTH_JSON = "application/health+json"


@router.get(
    "/health",
    summary="Is the service up",
    responses={
        200: {"description": "Every dependency answers", "content": {HEALTH_JSON: {}}},
        503: {"description": "A dependency fails", "content": {HEALTH_JSON: {}}},
    },
)
async def get_health(request: Request, services: ServicesDep) -> Response:
    checks = {"database:responseTime": [await run_in_threadpool(database_check, services)]}
    if services.admission is not None and services.settings.redis_url:
        checks["redis:responseTime"] = [await redis_check(services.admission.counters)]
    failing = any(entry["status"] == "fail" for entries in checks.values() for entry in entries)
    warning = any(entry["status"] == "warn" for entries in checks.values() for entry in entries)
    status = "fail" if failing else "warn" if warning else "pass"
    body: dict[str, object] = {"status": status}
    if sees_details(request, services):
        body |= {
            "version": __version__.split(".")[0],
            "releaseId": __version__,
            "serviceId": "ticketd",
            "description": "ticketd ticket status service",
            "checks": checks,
        }
    return Response(
        content=orjson.dumps(body),
        status_code=503 if failing else 200,
        media_type=HEALTH_JSON,
        headers={"Cache-Control": "no-store"},
    )


def sees_details(request: Request, services: ServicesDep) -> bool:
    """The version, the store's kind and each check are for operators: a client on this host, or
    an admin's credential. Anyone else learns whether the service is up, and nothing more."""
    host = request.client.host if request.client else ""
    try:
        if ipaddress.ip_address(host).is_loopback:
            return True
    except ValueError:
        pass
    authorization = request.headers.get("authorization")
    if authorization is None:
        return False
    try:
        return principal_from_header(services.authenticator, authorization).role is Role.ADMIN
    except Unauthenticated:
        return False


def database_check(services: ServicesDep) -> dict[str, object]:
    started = time.perf_counter()
    entry: dict[str, object] = {
        "componentId": services.engine.dialect.name,
        "componentType": "datastore",
        "observedUnit": "ms",
        "time": utcnow().isoformat().replace("+00:00", "Z"),
    }
    try:
        with services.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure of the store is a failing check, never a 500
        entry.update(status="fail", output=type(exc).__name__, observedValue=None)
        return entry
    entry.update(status="pass", observedValue=round((time.perf_counter() - started) * 1000, 3))
    return entry


async def redis_check(counters: Counters) -> dict[str, object]:
    """Redis holds the rate-limit counters. Without it the server still serves, each process
    counting on its own (fail-open), so its absence is a warning, not a failure."""
    started = time.perf_counter()
    problem = await counters.check()
    entry: dict[str, object] = {
        "componentId": "rate-limits",
        "componentType": "datastore",
        "observedUnit": "ms",
        "time": utcnow().isoformat().replace("+00:00", "Z"),
    }
    if problem is not None:
        entry.update(
            status="warn",
            observedValue=None,
            output=f"rate limits are counted per process until Redis answers ({problem})",
        )
        return entry
    entry.update(status="pass", observedValue=round((time.perf_counter() - started) * 1000, 3))
    return entry
