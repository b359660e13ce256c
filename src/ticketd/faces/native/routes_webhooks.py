"""Webhook endpoints, for admins: where the tenant's messages go, their secrets, the delivery log.

Messages follow the Standard Webhooks specification; `core/webhooks/` makes and delivers them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from ticketd.core.clock import as_utc
from ticketd.core.webhooks import deliveries, endpoints
from ticketd.core.webhooks.endpoints import EndpointChanges
from ticketd.faces.native.deps import Admin, ReadDb, ServicesDep, WriteDb
from ticketd.faces.native.paths import PREFIX
from ticketd.faces.native.responses import PROBLEM_RESPONSES, json_list_response, json_response
from ticketd.store.tables import WebhookEndpoint

router = APIRouter(prefix="/webhooks", tags=["webhooks"], responses=PROBLEM_RESPONSES)
EndpointId = Annotated[str, Path(min_length=1, max_length=40, description="The endpoint's id (`ep_…`).")]
MessageId = Annotated[str, Path(min_length=1, max_length=40, description="The message's id (`msg_…`).")]
EventTypes = Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=20)]


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(max_length=2000, description="http or https; not a private address unless allowed.")
    events: EventTypes = Field(default_factory=list, description="Event types to send; empty means all.")
    description: str = Field(default="", max_length=500)


class WebhookPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str | None = Field(default=None, max_length=2000)
    events: EventTypes | None = None
    description: str | None = Field(default=None, max_length=500)
    disabled: bool | None = None


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    description: str
    disabled: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(WebhookOut):
    secret: str = Field(description="Shown only now: `whsec_` and the base64 of the key.")


class AttemptOut(BaseModel):
    delivery_id: int
    message_id: str
    type: str
    delivery_status: str = Field(description="pending, succeeded or failed")
    next_attempt_at: datetime | None
    attempted_at: datetime | None
    status_code: int | None
    latency_ms: int | None
    response: str | None = Field(description="The first kilobyte of the response.")
    error: str | None


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: datetime


class ReplayOut(BaseModel):
    queued: int


WEBHOOKS = TypeAdapter(list[WebhookOut])
ATTEMPTS = TypeAdapter(list[AttemptOut])


def webhook_out(endpoint: WebhookEndpoint) -> WebhookOut:
    return WebhookOut(
        id=endpoint.id,
        url=endpoint.url,
        events=list(endpoint.events),
        description=endpoint.description,
        disabled=endpoint.disabled,
        disabled_reason=endpoint.disabled_reason,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
    )


@router.post("", status_code=201, response_model=WebhookWithSecret, summary="Add a webhook endpoint")
def create_webhook(body: WebhookIn, principal: Admin, db: WriteDb, services: ServicesDep) -> Response:
    endpoint, secret = endpoints.create_endpoint(
        db,
        services.sealer(),
        tenant_id=principal.tenant_id,
        url=body.url,
        events=body.events,
        description=body.description,
        allow_private=services.settings.webhook_allow_private,
    )
    db.commit()
    out = WebhookWithSecret(**webhook_out(endpoint).model_dump(), secret=secret)
    return json_response(out, status=201, headers={"Location": f"{PREFIX}/webhooks/{endpoint.id}"})


@router.get("", response_model=list[WebhookOut], summary="List the tenant's webhook endpoints")
def list_webhooks(principal: Admin, db: ReadDb) -> Response:
    found = endpoints.list_endpoints(db, tenant_id=principal.tenant_id)
    return json_list_response(WEBHOOKS, [webhook_out(endpoint) for endpoint in found])


@router.get("/{endpoint_id}", response_model=WebhookOut, summary="Get a webhook endpoint")
def get_webhook(endpoint_id: EndpointId, principal: Admin, db: ReadDb) -> Response:
    endpoint = endpoints.get_endpoint(db, tenant_id=principal.tenant_id, endpoint_id=endpoint_id)
    return json_response(webhook_out(endpoint))


@router.patch(
    "/{endpoint_id}",
    response_model=WebhookOut,
    summary="Change a webhook endpoint (its URL, event types, description; disable or enable it)",
)
def patch_webhook(
    endpoint_id: EndpointId, body: WebhookPatch, principal: Admin, db: WriteDb, services: ServicesDep
) -> Response:
    endpoint = endpoints.update_endpoint(
        db,
        tenant_id=principal.tenant_id,
        endpoint_id=endpoint_id,
        changes=EndpointChanges(
            url=body.url, events=body.events, description=body.description, disabled=body.disabled
        ),
        allow_private=services.settings.webhook_allow_private,
    )
    db.commit()
    return json_response(webhook_out(endpoint))


@router.delete("/{endpoint_id}", status_code=204, summary="Delete a webhook endpoint and its delivery log")
def delete_webhook(endpoint_id: EndpointId, principal: Admin, db: WriteDb) -> Response:
    endpoints.delete_endpoint(db, tenant_id=principal.tenant_id, endpoint_id=endpoint_id)
    db.commit()
    return Response(status_code=204)


@router.post(
    "/{endpoint_id}/rotate-secret",
    response_model=WebhookWithSecret,
    summary="Give the endpoint a new secret; the previous one signs too until the overlap ends",
)
def rotate_webhook_secret(
    endpoint_id: EndpointId, principal: Admin, db: WriteDb, services: ServicesDep
) -> Response:
    endpoint, secret = endpoints.rotate_secret(
        db,
        services.sealer(),
        tenant_id=principal.tenant_id,
        endpoint_id=endpoint_id,
        overlap=timedelta(seconds=services.settings.webhook_secret_overlap_seconds),
    )
    db.commit()
    return json_response(WebhookWithSecret(**webhook_out(endpoint).model_dump(), secret=secret))


@router.get(
    "/{endpoint_id}/deliveries",
    response_model=list[AttemptOut],
    summary="The endpoint's delivery log, newest first: each attempt, or a delivery not yet attempted",
)
def list_deliveries(
    endpoint_id: EndpointId,
    principal: Admin,
    db: ReadDb,
    limit: Annotated[
        int, Query(ge=1, le=500, description="Deliveries a page, each with all its attempts.")
    ] = 100,
    before: Annotated[int | None, Query(ge=1, le=2**62, description="Deliveries older than this id.")] = None,
) -> Response:
    views = deliveries.delivery_log(
        db, tenant_id=principal.tenant_id, endpoint_id=endpoint_id, limit=limit, before=before
    )
    return json_list_response(
        ATTEMPTS,
        [
            AttemptOut(
                delivery_id=view.delivery_id,
                message_id=view.message_id,
                type=view.event_type,
                delivery_status=view.delivery_status,
                next_attempt_at=view.next_attempt_at,
                attempted_at=view.at,
                status_code=view.status_code,
                latency_ms=view.latency_ms,
                response=view.response,
                error=view.error,
            )
            for view in views
        ],
    )


@router.post(
    "/{endpoint_id}/deliveries/{message_id}/redeliver",
    status_code=202,
    response_model=ReplayOut,
    summary="Send one message to the endpoint again, now",
)
def redeliver(endpoint_id: EndpointId, message_id: MessageId, principal: Admin, db: WriteDb) -> Response:
    deliveries.redeliver(db, tenant_id=principal.tenant_id, endpoint_id=endpoint_id, message_id=message_id)
    db.commit()
    return json_response(ReplayOut(queued=1), status=202)


@router.post(
    "/{endpoint_id}/replay",
    status_code=202,
    response_model=ReplayOut,
    summary="Send again every message since a time that the endpoint has not received",
)
def replay(endpoint_id: EndpointId, body: ReplayIn, principal: Admin, db: WriteDb) -> Response:
    since = as_utc(body.since)
    queued = deliveries.replay(db, tenant_id=principal.tenant_id, endpoint_id=endpoint_id, since=since)
    db.commit()
    return json_response(ReplayOut(queued=queued), status=202)
