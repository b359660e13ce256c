"""The tenant's public status page, for admins: publish it, its components, incidents and scheduled
maintenance with their updates. The page itself is served by the status face (`/status/{tenant}`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from ticketd.core import status_page
from ticketd.core.clock import as_utc
from ticketd.core.status_page import ComponentStatus, Impact
from ticketd.faces.native.deps import Admin, ReadDb, WriteDb
from ticketd.faces.native.responses import PROBLEM_RESPONSES, json_list_response, json_response
from ticketd.store.tables import StatusComponent, StatusIncident, StatusPage

router = APIRouter(prefix="/status-page", tags=["status page"], responses=PROBLEM_RESPONSES)
ComponentId = Annotated[str, Path(min_length=1, max_length=24)]
IncidentId = Annotated[str, Path(min_length=1, max_length=24)]
ComponentStates = Annotated[dict[str, ComponentStatus], Field(max_length=100)]


class PageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    published: bool | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)


class PageOut(BaseModel):
    published: bool
    name: str
    updated_at: datetime


class ComponentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=1000)
    status: ComponentStatus = ComponentStatus.OPERATIONAL
    position: int | None = Field(default=None, ge=0, le=10_000)


class ComponentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    status: ComponentStatus | None = None
    position: int | None = Field(default=None, ge=0, le=10_000)


class ComponentOut(BaseModel):
    id: str
    name: str
    description: str
    status: ComponentStatus
    position: int
    updated_at: datetime


class IncidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=10_000)
    status: str = Field(
        default="investigating",
        max_length=32,
        description="investigating, identified, monitoring, resolved, postmortem; for a maintenance "
        "(scheduled_for given): scheduled, in_progress, verifying, completed",
    )
    impact: Impact = Impact.MINOR
    components: ComponentStates = Field(default_factory=dict, description="Component id → its new status.")
    scheduled_for: datetime | None = None
    scheduled_until: datetime | None = None


class UpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str = Field(max_length=32)
    body: str = Field(min_length=1, max_length=10_000)
    components: ComponentStates = Field(default_factory=dict)


class IncidentOut(BaseModel):
    id: str
    name: str
    kind: str
    status: str
    impact: str
    component_ids: list[str]
    scheduled_for: datetime | None
    scheduled_until: datetime | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None


COMPONENTS = TypeAdapter(list[ComponentOut])
INCIDENTS = TypeAdapter(list[IncidentOut])


def _page(page: StatusPage) -> PageOut:
    return PageOut(published=page.published, name=page.name, updated_at=page.updated_at)


def _component(component: StatusComponent) -> ComponentOut:
    return ComponentOut(
        id=component.id,
        name=component.name,
        description=component.description,
        status=ComponentStatus(component.status),
        position=component.position,
        updated_at=component.updated_at,
    )


def _incident(incident: StatusIncident) -> IncidentOut:
    return IncidentOut(
        id=incident.id,
        name=incident.name,
        kind=incident.kind,
        status=incident.status,
        impact=incident.impact,
        component_ids=list(incident.component_ids),
        scheduled_for=incident.scheduled_for,
        scheduled_until=incident.scheduled_until,
        created_at=incident.created_at,
        updated_at=incident.updated_at,
        resolved_at=incident.resolved_at,
    )


@router.get("", response_model=PageOut, summary="The status page's settings")
def get_status_page(principal: Admin, db: WriteDb) -> Response:
    page = status_page.get_page(db, principal.tenant_id)
    db.commit()
    return json_response(_page(page))


@router.patch("", response_model=PageOut, summary="Publish or unpublish the page, or rename it")
def patch_status_page(body: PageIn, principal: Admin, db: WriteDb) -> Response:
    page = status_page.set_page(db, principal.tenant_id, published=body.published, name=body.name)
    db.commit()
    return json_response(_page(page))


@router.get("/components", response_model=list[ComponentOut], summary="The page's components")
def list_status_components(principal: Admin, db: ReadDb) -> Response:
    found = status_page.list_components(db, principal.tenant_id)
    return json_list_response(COMPONENTS, [_component(component) for component in found])


@router.post("/components", status_code=201, response_model=ComponentOut, summary="Add a component")
def create_status_component(body: ComponentIn, principal: Admin, db: WriteDb) -> Response:
    component = status_page.create_component(
        db,
        principal.tenant_id,
        name=body.name,
        description=body.description,
        status=body.status,
        position=body.position,
    )
    db.commit()
    return json_response(_component(component), status=201)


@router.patch("/components/{component_id}", response_model=ComponentOut, summary="Change a component")
def patch_status_component(
    component_id: ComponentId, body: ComponentPatch, principal: Admin, db: WriteDb
) -> Response:
    component = status_page.update_component(
        db,
        principal.tenant_id,
        component_id,
        name=body.name,
        description=body.description,
        status=body.status,
        position=body.position,
    )
    db.commit()
    return json_response(_component(component))


@router.delete("/components/{component_id}", status_code=204, summary="Remove a component")
def delete_status_component(component_id: ComponentId, principal: Admin, db: WriteDb) -> Response:
    status_page.delete_component(db, principal.tenant_id, component_id)
    db.commit()
    return Response(status_code=204)


@router.get("/incidents", response_model=list[IncidentOut], summary="Recent incidents and maintenance")
def list_status_incidents(principal: Admin, db: ReadDb) -> Response:
    found = status_page.list_incidents(db, principal.tenant_id)
    return json_list_response(INCIDENTS, [_incident(incident) for incident in found])


@router.post(
    "/incidents",
    status_code=201,
    response_model=IncidentOut,
    summary="Open an incident, or schedule a maintenance (with scheduled_for and scheduled_until)",
)
def create_status_incident(body: IncidentIn, principal: Admin, db: WriteDb) -> Response:
    scheduled_for = as_utc(body.scheduled_for)
    status = body.status if scheduled_for is None or body.status != "investigating" else "scheduled"
    incident = status_page.open_incident(
        db,
        principal.tenant_id,
        name=body.name,
        body=body.body,
        impact=body.impact,
        status=status,
        components=dict(body.components),
        scheduled_for=scheduled_for,
        scheduled_until=as_utc(body.scheduled_until),
    )
    db.commit()
    return json_response(_incident(incident), status=201)


@router.post(
    "/incidents/{incident_id}/updates",
    response_model=IncidentOut,
    summary="Post an update to an incident (its new status, what is known, components' new states)",
)
def post_status_update(incident_id: IncidentId, body: UpdateIn, principal: Admin, db: WriteDb) -> Response:
    incident = status_page.add_update(
        db,
        principal.tenant_id,
        incident_id,
        status=body.status,
        body=body.body,
        components=dict(body.components),
    )
    db.commit()
    return json_response(_incident(incident))
