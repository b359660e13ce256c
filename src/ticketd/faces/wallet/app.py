"""Wallet's system status and ticket endpoints, for the OpenAPI document and everything off the hot path."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from ticketd.core.errors import DomainError, Forbidden, RateLimited, Unauthenticated
from ticketd.core.operation_params import BulkSet, BulkUpdateParams
from ticketd.core.operations import start_bulk_update as start_operation
from ticketd.core.principal import Principal, Scope
from ticketd.faces.apps import face_app
from ticketd.faces.wallet.errors import ERROR_DOCS, JSON, error_body, rate_limited
from ticketd.faces.wallet.paths import PREFIX
from ticketd.store.engine import is_store_outage, unit_of_work
from ticketd.web.credentials import decode_basic
from ticketd.web.rate_limits import admit
from ticketd.web.services import Services

log = logging.getLogger(__name__)

HELLO = orjson.dumps({"Hello": "World"})


# What a bulk update by tag takes, with the limits the server enforces (core/operation_params.py).
BULK_CHANGES: dict[str, Any] = {
    "type": "object",
    "properties": {
        **BulkSet.model_json_schema()["properties"],
        "add_tags": {"type": "array", "items": {"type": "string", "maxLength": 100}, "maxItems": 50},
        "remove_tags": {"type": "array", "items": {"type": "string", "maxLength": 100}, "maxItems": 50},
    },
}


def build_wallet_app(services: Services) -> FastAPI:
    app = face_app(
        services,
        title="Airship Wallet API: tickets (ticketd)",
        version="1.2",
        description="Wallet tickets and system status, as ticketd serves them (docs/faces/wallet.md).",
        openapi_url=f"{PREFIX}/openapi.json",
        errors=ERROR_DOCS,
        operation_ids={
            "system_status": "getSystemStatus",
            "ticket": "getTicket",
            "update_by_tag": "updateTicketsByTag",
        },
    )

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

    @app.put(
        f"{PREFIX}/tag/{{tag}}/tickets",
        summary="Update tickets by tag",
        description="Like 'update passes by tag': answers at once with the ticketId to poll.",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "description": "The changes, at the top level or under `fields`.",
                            "properties": {
                                "fields": BULK_CHANGES,
                                **BULK_CHANGES["properties"],
                            },
                        }
                    }
                },
            }
        },
    )
    async def update_by_tag(tag: str, request: Request) -> Response:
        try:
            key, secret = decode_basic(request.headers.get("authorization", "").partition(" ")[2].strip())
            principal = services.authenticator.by_api_key(key, secret)
            await admit(request.scope, principal)
        except RateLimited as exc:
            return rate_limited(exc)
        except Unauthenticated as exc:
            return Response(
                error_body(401, exc.message),
                401,
                {"WWW-Authenticate": 'Basic realm="wallet"'},
                media_type=JSON,
            )
        if not principal.has_scope(Scope.TICKETS_WRITE):
            return Response(
                error_body(403, "the project key lacks the tickets:write scope"), 403, media_type=JSON
            )
        try:
            payload = orjson.loads(await request.body() or b"{}")
            fields = payload.get("fields", payload) if isinstance(payload, dict) else None
            if not isinstance(fields, dict):
                raise ValueError("the body must be a JSON object")
            changes = BulkSet.model_validate(
                {k: v for k, v in fields.items() if k in ("status", "priority", "assignee_ids")}
            )
            params = BulkUpdateParams(
                tag=tag,
                set=changes,
                add_tags=fields.get("add_tags") or [],
                remove_tags=fields.get("remove_tags") or [],
            )
            operation_id = await run_in_threadpool(start_bulk_update, services, principal, params)
        except (ValueError, ValidationError, orjson.JSONDecodeError) as exc:
            return Response(error_body(400, str(exc).splitlines()[0]), 400, media_type=JSON)
        except DomainError as exc:
            status = 403 if isinstance(exc, Forbidden) else 400
            return Response(error_body(status, exc.message), status, media_type=JSON)
        return Response(orjson.dumps({"ticketId": operation_id}), 200, media_type=JSON)

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
        if is_store_outage(exc):
            log.warning("store outage on %s %s: %s", request.method, request.url.path, exc)
            body = error_body(503, "the store is not answering; try again shortly")
            return Response(body, 503, {"Retry-After": "5"}, media_type=JSON)
        log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return Response(error_body(500, "an unexpected error occurred"), 500, media_type=JSON)

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
    return app


def start_bulk_update(services: Services, principal: Principal, params: BulkUpdateParams) -> int:
    with unit_of_work(services.sessions, write=True) as db:
        operation_id = start_operation(db, principal, params).id
        db.commit()
    return operation_id
