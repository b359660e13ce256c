"""The status face's errors: a small JSON body (`{"error": {"status", "message"}}`), the page being
public and read by tools; a store that does not answer is 503 with Retry-After."""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from ticketd.core.errors import DomainError, NotFound, RateLimited
from ticketd.faces.apps import ErrorDocs
from ticketd.store.engine import is_store_outage

log = logging.getLogger("ticketd.faces.status")
JSON = "application/json"


ERROR_DOCS = ErrorDocs(
    schema_name="Error",
    schema={
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["status", "message"],
                "properties": {"status": {"type": "integer"}, "message": {"type": "string"}},
            }
        },
    },
    media_type=JSON,
    statuses={
        400: "Malformed request",
        404: "No such page, or not published",
        405: "Only GET (and HEAD)",
        406: "Cannot answer in a media type the client accepts",
        429: "Too many requests from this client IP",
        503: "The store does not answer; retry after Retry-After",
    },
)


def error_body(status: int, message: str) -> bytes:
    return orjson.dumps({"error": {"status": status, "message": message}})


def render_error(status: int, detail: str) -> tuple[bytes, bytes]:
    return JSON.encode(), error_body(status, detail)


def rate_limited(exc: RateLimited) -> Response:
    return Response(error_body(429, exc.message), 429, {"Retry-After": str(exc.retry_after)}, media_type=JSON)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotFound)
    async def not_found(_request: Request, exc: NotFound) -> Response:
        return Response(error_body(404, exc.message), 404, media_type=JSON)

    @app.exception_handler(DomainError)
    async def domain(_request: Request, exc: DomainError) -> Response:
        return Response(error_body(400, exc.message), 400, media_type=JSON)

    @app.exception_handler(HTTPException)
    async def http(_request: Request, exc: HTTPException) -> Response:
        headers = dict(exc.headers or {})
        return Response(
            error_body(exc.status_code, str(exc.detail)), exc.status_code, headers, media_type=JSON
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, _exc: RequestValidationError) -> Response:
        return Response(error_body(404, "no such status page"), 404, media_type=JSON)

    @app.exception_handler(Exception)
    async def last(_request: Request, exc: Exception) -> Response:
        if is_store_outage(exc):
            return Response(
                error_body(503, "the status page cannot be read now"),
                503,
                {"Retry-After": "5"},
                media_type=JSON,
            )
        log.exception("status page: unexpected error")
        return Response(error_body(500, "internal error"), 500, media_type=JSON)
