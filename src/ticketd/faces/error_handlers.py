"""One installer of error handlers for every face's app. A face gives its body and its table of
domain errors (`FaceErrors`); what every face answers alike is done here, once: a store outage is
logged and answered 503 with Retry-After, anything unexpected is logged with its trace and
answered 500 without one, a 405 names what the path allows, and a domain error that says when to
come back carries Retry-After."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from ticketd.core.errors import DomainError, QuotaExceeded, Unavailable
from ticketd.store.engine import is_store_outage

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# How long a client waits before retrying when the store is away.
OUTAGE_RETRY_SECONDS = 5


@dataclass(frozen=True)
class FaceErrors:
    # The face's answer for a status and a detail about the request's path, in its own body.
    answer: Callable[[str, int, str], Response]
    # Its table of domain errors (and of the error kinds of its own listed in `own`).
    domain: Callable[[Request, Exception], Response]
    # A request that failed validation: the framework's (or pydantic's) list of errors.
    invalid: Callable[[Request, Sequence[Any]], Response]
    log: logging.Logger
    # What the framework raises for a path (404) or a method (405) it has no route for, where the
    # face words it otherwise than `default_http_detail`.
    http: Callable[[Request, HTTPException], Response] | None = None
    own: tuple[type[Exception], ...] = field(default=())
    outage_detail: str = "the store is not answering; try again shortly"
    unexpected_detail: str = "an unexpected error occurred; it has been logged"


def default_http_detail(request: Request, exc: HTTPException) -> str:
    if exc.status_code == 405:
        return f"{request.method} is not allowed here"
    if exc.status_code == 404 and exc.detail == "Not Found":
        return f"no resource at {request.url.path}"
    return str(exc.detail)


def allowed_methods(request: Request) -> list[str]:
    # The router reports only the first route that matched the path; a path usually has several.
    # The routes the app's document describes but the hot path answers count too (apps.py).
    routes = [*request.app.router.routes, *getattr(request.app.state, "described_routes", ())]
    allowed = [
        method
        for method in METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]
    # Every GET resource also answers HEAD (see web.guards.HeadAsGet).
    return [*allowed[:1], "HEAD", *allowed[1:]] if "GET" in allowed else allowed


def outage_response(errors: FaceErrors, method: str, path: str, exc: Exception) -> Response:
    """The store did not answer: logged (without a trace: it is the store's state, not a fault of
    ticketd's) and answered 503 with Retry-After, by the app and by the polled paths alike."""
    errors.log.warning("store outage on %s %s: %s", method, path, exc)
    response = errors.answer(path, 503, errors.outage_detail)
    response.headers["Retry-After"] = str(OUTAGE_RETRY_SECONDS)
    return response


def install_error_handlers(app: FastAPI, errors: FaceErrors) -> None:
    async def domain(request: Request, exc: Exception) -> Response:
        response = errors.domain(request, exc)
        if isinstance(exc, Unavailable | QuotaExceeded) and "retry-after" not in response.headers:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError | ValidationError)
        return errors.invalid(request, list(exc.errors()))

    async def http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404 and exc.detail == "Not Found":
            # No route of the app's: a route the hot path answers may still have the path.
            allowed = allowed_methods(request)
            if allowed and request.method not in allowed:
                exc = HTTPException(405, "Method Not Allowed")
        if errors.http is not None:
            response = errors.http(request, exc)
        else:
            response = errors.answer(request.url.path, exc.status_code, default_http_detail(request, exc))
        for name, value in (exc.headers or {}).items():
            if name.lower() not in response.headers:
                response.headers[name] = value
        if exc.status_code == 405:
            response.headers["Allow"] = ", ".join(allowed_methods(request))
        return response

    async def unexpected(request: Request, exc: Exception) -> Response:
        if is_store_outage(exc):
            return outage_response(errors, request.method, request.url.path, exc)
        errors.log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return errors.answer(request.url.path, 500, errors.unexpected_detail)

    domain_kinds: tuple[type[Exception], ...] = (DomainError, *errors.own)
    for kind in domain_kinds:
        app.add_exception_handler(kind, domain)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(ValidationError, invalid)
    app.add_exception_handler(HTTPException, http)
    app.add_exception_handler(Exception, unexpected)
