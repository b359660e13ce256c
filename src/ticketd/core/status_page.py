"""A tenant's public status page: components, incidents with dated updates, scheduled maintenance,
in the shape of Atlassian Statuspage's public v2 API, which status aggregators already read.

Nothing is public until the tenant publishes its page; what is public is only what it published.
One built-in component, "ticketd", follows ticketd's own health checks without anyone touching it.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketd.core.clock import utcnow
from ticketd.core.errors import FieldError, InvalidInput, NotFound
from ticketd.core.text import require_storable
from ticketd.store.tables import StatusComponent, StatusIncident, StatusIncidentUpdate, StatusPage, Tenant

MAX_COMPONENTS = 100
# The incidents a page lists (Statuspage's incidents.json: the 50 most recent).
RECENT_INCIDENTS = 50
BUILT_IN_ID = "ticketd"


class ComponentStatus(StrEnum):
    OPERATIONAL = "operational"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"
    UNDER_MAINTENANCE = "under_maintenance"


class IncidentStatus(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    POSTMORTEM = "postmortem"


class MaintenanceStatus(StrEnum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    VERIFYING = "verifying"
    COMPLETED = "completed"


class Impact(StrEnum):
    NONE = "none"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"
    MAINTENANCE = "maintenance"


UNRESOLVED = frozenset({IncidentStatus.INVESTIGATING, IncidentStatus.IDENTIFIED, IncidentStatus.MONITORING})
FINISHED_MAINTENANCE = frozenset({MaintenanceStatus.COMPLETED})
# Statuspage's overall indicator and its words.
INDICATOR_WORDS = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major Service Outage",
    "maintenance": "Service Under Maintenance",
}
COMPONENT_INDICATOR = {
    ComponentStatus.OPERATIONAL: "none",
    ComponentStatus.UNDER_MAINTENANCE: "maintenance",
    ComponentStatus.DEGRADED_PERFORMANCE: "minor",
    ComponentStatus.PARTIAL_OUTAGE: "major",
    ComponentStatus.MAJOR_OUTAGE: "critical",
}
SEVERITY = ["none", "maintenance", "minor", "major", "critical"]


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(6)


def _text(value: str, pointer: str, limit: int, *, required: bool = True) -> str:
    value = require_storable(value.strip(), pointer)
    if required and not value:
        raise InvalidInput("a value is required", [FieldError(pointer, "must not be empty")])
    if len(value) > limit:
        raise InvalidInput("too long", [FieldError(pointer, f"at most {limit} characters")])
    return value


@dataclass(frozen=True)
class Health:
    """ticketd's own checks, as the built-in component shows them."""

    status: ComponentStatus
    checked_at: datetime


def get_page(db: Session, tenant_id: int) -> StatusPage:
    page = db.get(StatusPage, tenant_id)
    if page is None:
        tenant = db.get(Tenant, tenant_id)
        assert tenant is not None
        page = StatusPage(tenant_id=tenant_id, published=False, name=tenant.name, updated_at=utcnow())
        db.add(page)
        db.flush()
    return page


def set_page(
    db: Session, tenant_id: int, *, published: bool | None = None, name: str | None = None
) -> StatusPage:
    page = get_page(db, tenant_id)
    if published is not None:
        page.published = published
    if name is not None:
        page.name = _text(name, "/name", 200)
    page.updated_at = utcnow()
    db.flush()
    return page


def published_page(db: Session, slug: str) -> tuple[Tenant, StatusPage]:
    """The tenant and its page, if it published one; else NotFound, as for a tenant that does not exist."""
    tenant = db.scalar(select(Tenant).where(Tenant.slug == slug))
    page = db.get(StatusPage, tenant.id) if tenant is not None else None
    if tenant is None or page is None or not page.published:
        raise NotFound(f"no status page {slug!r}")
    return tenant, page


def list_components(db: Session, tenant_id: int) -> list[StatusComponent]:
    query = select(StatusComponent).where(StatusComponent.tenant_id == tenant_id)
    return list(db.scalars(query.order_by(StatusComponent.position, StatusComponent.created_at)))


def create_component(
    db: Session,
    tenant_id: int,
    *,
    name: str,
    description: str = "",
    status: ComponentStatus = ComponentStatus.OPERATIONAL,
    position: int | None = None,
) -> StatusComponent:
    existing = list_components(db, tenant_id)
    if len(existing) >= MAX_COMPONENTS:
        raise InvalidInput(f"a page has at most {MAX_COMPONENTS} components")
    now = utcnow()
    component = StatusComponent(
        id=_new_id("cmp_"),
        tenant_id=tenant_id,
        name=_text(name, "/name", 200),
        description=_text(description, "/description", 1000, required=False),
        status=status.value,
        position=position if position is not None else len(existing) + 1,
        created_at=now,
        updated_at=now,
    )
    db.add(component)
    get_page(db, tenant_id).updated_at = now
    db.flush()
    return component


def get_component(db: Session, tenant_id: int, component_id: str) -> StatusComponent:
    component = db.get(StatusComponent, component_id)
    if component is None or component.tenant_id != tenant_id:
        raise NotFound(f"component {component_id} does not exist")
    return component


def update_component(
    db: Session,
    tenant_id: int,
    component_id: str,
    *,
    name: str | None = None,
    description: str | None = None,
    status: ComponentStatus | None = None,
    position: int | None = None,
) -> StatusComponent:
    component = get_component(db, tenant_id, component_id)
    if name is not None:
        component.name = _text(name, "/name", 200)
    if description is not None:
        component.description = _text(description, "/description", 1000, required=False)
    if status is not None:
        component.status = status.value
    if position is not None:
        component.position = position
    component.updated_at = utcnow()
    get_page(db, tenant_id).updated_at = component.updated_at
    db.flush()
    return component


def delete_component(db: Session, tenant_id: int, component_id: str) -> None:
    db.delete(get_component(db, tenant_id, component_id))
    get_page(db, tenant_id).updated_at = utcnow()
    db.flush()


def open_incident(
    db: Session,
    tenant_id: int,
    *,
    name: str,
    body: str,
    impact: Impact,
    status: str,
    components: dict[str, ComponentStatus] | None = None,
    scheduled_for: datetime | None = None,
    scheduled_until: datetime | None = None,
) -> StatusIncident:
    """An incident, or (with `scheduled_for`) a scheduled maintenance, with its first update."""
    maintenance = scheduled_for is not None
    _check_status(status, maintenance)
    if maintenance and (scheduled_until is None or scheduled_until <= scheduled_for):  # type: ignore[operator]
        raise InvalidInput(
            "a maintenance needs an end after its start",
            [FieldError("/scheduled_until", "must be after scheduled_for")],
        )
    now = utcnow()
    incident = StatusIncident(
        id=_new_id("inc_"),
        tenant_id=tenant_id,
        name=_text(name, "/name", 300),
        kind="maintenance" if maintenance else "incident",
        status=status,
        impact=Impact.MAINTENANCE.value if maintenance else impact.value,
        component_ids=[],
        scheduled_for=scheduled_for,
        scheduled_until=scheduled_until,
        created_at=now,
        updated_at=now,
        started_at=scheduled_for or now,
        monitoring_at=None,
        resolved_at=None,
    )
    db.add(incident)
    db.flush()
    _add_update(db, incident, status, body, components or {}, now)
    return incident


def add_update(
    db: Session,
    tenant_id: int,
    incident_id: str,
    *,
    status: str,
    body: str,
    components: dict[str, ComponentStatus] | None = None,
) -> StatusIncident:
    incident = get_incident(db, tenant_id, incident_id)
    _check_status(status, incident.kind == "maintenance")
    _add_update(db, incident, status, body, components or {}, utcnow())
    return incident


def get_incident(db: Session, tenant_id: int, incident_id: str) -> StatusIncident:
    incident = db.get(StatusIncident, incident_id)
    if incident is None or incident.tenant_id != tenant_id:
        raise NotFound(f"incident {incident_id} does not exist")
    return incident


def list_incidents(db: Session, tenant_id: int, *, limit: int = RECENT_INCIDENTS) -> list[StatusIncident]:
    query = select(StatusIncident).where(StatusIncident.tenant_id == tenant_id)
    return list(db.scalars(query.order_by(StatusIncident.created_at.desc()).limit(limit)))


def updates_of(db: Session, incidents: Sequence[StatusIncident]) -> dict[str, list[StatusIncidentUpdate]]:
    found: dict[str, list[StatusIncidentUpdate]] = {incident.id: [] for incident in incidents}
    if not found:
        return found
    query = select(StatusIncidentUpdate).where(StatusIncidentUpdate.incident_id.in_(list(found)))
    for update in db.scalars(query.order_by(StatusIncidentUpdate.created_at.desc())):
        found[update.incident_id].append(update)
    return found


def _check_status(status: str, maintenance: bool) -> None:
    allowed = {s.value for s in (MaintenanceStatus if maintenance else IncidentStatus)}
    if status not in allowed:
        raise InvalidInput("unknown status", [FieldError("/status", f"one of {', '.join(sorted(allowed))}")])


def _add_update(
    db: Session,
    incident: StatusIncident,
    status: str,
    body: str,
    components: dict[str, ComponentStatus],
    now: datetime,
) -> None:
    affected: list[dict[str, Any]] = []
    for component_id, new_status in components.items():
        component = get_component(db, incident.tenant_id, component_id)
        affected.append(
            {
                "code": component.id,
                "name": component.name,
                "old_status": component.status,
                "new_status": new_status.value,
            }
        )
        component.status, component.updated_at = new_status.value, now
        if component.id not in incident.component_ids:
            incident.component_ids = [*incident.component_ids, component.id]
    db.add(
        StatusIncidentUpdate(
            id=_new_id("upd_"),
            incident_id=incident.id,
            tenant_id=incident.tenant_id,
            status=status,
            body=_text(body, "/body", 10_000),
            affected_components=affected,
            created_at=now,
        )
    )
    incident.status, incident.updated_at = status, now
    if status == IncidentStatus.MONITORING.value and incident.monitoring_at is None:
        incident.monitoring_at = now
    if status in (
        IncidentStatus.RESOLVED.value,
        IncidentStatus.POSTMORTEM.value,
        MaintenanceStatus.COMPLETED.value,
    ):
        incident.resolved_at = incident.resolved_at or now
    get_page(db, incident.tenant_id).updated_at = now
    db.flush()
