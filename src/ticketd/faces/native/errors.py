"""Domain errors and framework errors, rendered once as RFC 9457 problems."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException
from starlette.routing import Match

from ticketd.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PreconditionFailed,
    QuotaExceeded,
    RateLimited,
    Unauthenticated,
    Unavailable,
)
from ticketd.core.operations import UploadTooLarge
from ticketd.store.engine import is_store_outage
from ticketd.web.credentials import CHALLENGE
from ticketd.web.problems import (
    MALFORMED_TYPE,
    PROBLEM_JSON,
    QUOTA_TYPE,
    TRANSITION_TYPE,
    VALIDATION_TYPE,
    problem,
)

log = logging.getLogger(__name__)

STATUS_OF: list[tuple[type[DomainError], int]] = [
    (NotFound, 404),
    (InvalidTransition, 409),
    (Conflict, 409),
    (UploadTooLarge, 413),
    (InvalidInput, 422),
    (PreconditionFailed, 412),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (QuotaExceeded, 429),
    (Unavailable, 503),
]


def render_error(status: int, detail: str) -> tuple[bytes, bytes]:
    return PROBLEM_JSON.encode(), problem(status, detail)


def rate_limited(exc: RateLimited) -> Response:
    """429 quota-exceeded, naming the policies the request violated (standards.md)."""
    extensions: dict[str, Any] = {"violated-policies": list(exc.violated)}
    body = problem(429, exc.message, type_=QUOTA_TYPE, **extensions)
    return problem_response(429, body, {"Retry-After": str(exc.retry_after)})


def problem_response(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected_error)


async def _domain_error(request: Request, exc: DomainError) -> Response:
    status = next(code for kind, code in STATUS_OF if isinstance(exc, kind)) if _known(exc) else 500
    headers: dict[str, str] = {}
    extensions: dict[str, Any] = {}
    type_ = "about:blank"
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = CHALLENGE
    if isinstance(exc, InvalidInput):
        type_ = VALIDATION_TYPE
        extensions["errors"] = [{"pointer": e.pointer, "detail": e.detail} for e in exc.errors]
    if isinstance(exc, InvalidTransition):
        type_ = TRANSITION_TYPE
        extensions.update({"current_status": exc.current, "requested_status": exc.target})
    if isinstance(exc, Unavailable):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, QuotaExceeded):
        type_ = QUOTA_TYPE
        headers["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, RateLimited):
            extensions["violated-policies"] = list(exc.violated)
    body = problem(status, exc.message, type_=type_, instance=request.url.path, **extensions)
    return problem_response(status, body, headers)


def _known(exc: DomainError) -> bool:
    return any(isinstance(exc, kind) for kind, _ in STATUS_OF)


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    errors = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in errors):
        body = problem(400, "the body is not valid JSON", type_=MALFORMED_TYPE, instance=request.url.path)
        return problem_response(400, body)
    entries = [_field_problem(error) for error in errors]
    body = problem(
        422,
        "the request has invalid fields",
        type_=VALIDATION_TYPE,
        instance=request.url.path,
        errors=entries,
    )
    return problem_response(422, body)


def _field_problem(error: Any) -> dict[str, str]:
    location = [str(part) for part in error.get("loc", ())]
    message = str(error.get("msg", "invalid"))
    if location and location[0] == "body":
        return {"pointer": "/" + "/".join(location[1:]), "detail": message}
    # ("query", "status", 0): the parameter is the second element, whatever follows it.
    name = location[1] if len(location) > 1 else "".join(location)
    return {"parameter": name, "detail": message}


async def _http_error(request: Request, exc: HTTPException) -> Response:
    detail = exc.detail if isinstance(exc.detail, str) else None
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no resource at {request.url.path}"
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        detail = f"{request.method} is not allowed here"
        headers["Allow"] = ", ".join(allowed_methods(request))
    body = problem(exc.status_code, detail, instance=request.url.path)
    return problem_response(exc.status_code, body, headers)


METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    # The router reports only the first route that matched the path; a path usually has several.
    allowed = [
        method
        for method in METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]
    # Every GET resource also answers HEAD (see web.guards.HeadAsGet).
    return [*allowed[:1], "HEAD", *allowed[1:]] if "GET" in allowed else allowed


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    if is_store_outage(exc):
        log.warning("store outage on %s %s: %s", request.method, request.url.path, exc)
        body = problem(503, "the store is not answering; try again shortly", instance=request.url.path)
        return problem_response(503, body, headers={"Retry-After": "5"})
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    body = problem(500, "an unexpected error occurred; it has been logged", instance=request.url.path)
    return problem_response(500, body)
