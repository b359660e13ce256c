"""Wallet's system status and its update of tickets by tag. (Its ticket lookup is answered on the
polled path: hot.py.)"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from ticketd.core.operation_params import BulkSet, BulkUpdateParams
from ticketd.core.operations import start_bulk_update as start_operation
from ticketd.core.principal import Principal, Scope
from ticketd.faces.wallet.errors import JSON, error_response
from ticketd.faces.wallet.paths import PREFIX
from ticketd.store.engine import unit_of_work
from ticketd.web.credentials import decode_basic
from ticketd.web.rate_limits import admit
from ticketd.web.services import Services

router = APIRouter(prefix=PREFIX)

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


@router.get("/system/status", summary="Check system status")
def system_status() -> Response:
    return Response(HELLO, media_type=JSON)


@router.put(
    "/tag/{tag}/tickets",
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
                        "properties": {"fields": BULK_CHANGES, **BULK_CHANGES["properties"]},
                    }
                }
            },
        }
    },
)
async def update_by_tag(tag: str, request: Request) -> Response:
    services: Services = request.app.state.services
    key, secret = decode_basic(request.headers.get("authorization", "").partition(" ")[2].strip())
    principal = services.authenticator.by_api_key(key, secret)
    await admit(request.scope, principal)
    if not principal.has_scope(Scope.TICKETS_WRITE):
        return error_response(403, "the project key lacks the tickets:write scope")
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
    except (ValueError, ValidationError) as exc:  # orjson's JSONDecodeError is a ValueError
        return error_response(400, str(exc).splitlines()[0])
    operation_id = await run_in_threadpool(start_bulk_update, services, principal, params)
    return Response(orjson.dumps({"ticketId": operation_id}), 200, media_type=JSON)


def start_bulk_update(services: Services, principal: Principal, params: BulkUpdateParams) -> int:
    with unit_of_work(services.sessions, write=True) as db:
        operation_id = start_operation(db, principal, params).id
        db.commit()
    return operation_id
