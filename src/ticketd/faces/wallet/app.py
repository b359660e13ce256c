"""Wallet's system status and ticket endpoints, for the OpenAPI document and everything off the hot path."""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from ticketd.faces.wallet.errors import JSON, error_body
from ticketd.web.services import Services

log = logging.getLogger(__name__)

PREFIX = "/v1"
HELLO = orjson.dumps({"Hello": "World"})


def build_wallet_app(services: Services) -> FastAPI:
    app = FastAPI(
        title="Airship Wallet API: tickets (ticketd)",
        version="1.2",
        description="Wallet tickets and system status, as ticketd serves them (docs/faces/wallet.md).",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services

    @app.get(f"{PREFIX}/system/status", summary="Check system status")
    def system_status() -> Response:
        return Response(HELLO, media_type=JSON)

    @app.get(
        f"{PREFIX}/ticket/{{ticketId}}",
        summary="Get ticket status",
        description="Answered on the lean path in front of this app (faces/wallet/hot.py).",
    )
    def ticket(ticketId: str) -> Response:
        return Response(error_body(404, f"ticket {ticketId} does not exist"), 404, media_type=JSON)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        details = (
            f"{request.method} is not allowed here"
            if exc.status_code == 405
            else f"no resource at {request.url.path}"
        )
        return Response(
            error_body(exc.status_code, details), exc.status_code, dict(exc.headers or {}), media_type=JSON
        )

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return Response(error_body(500, "an unexpected error occurred"), 500, media_type=JSON)

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
    return app
