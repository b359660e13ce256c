"""Statuspage's public v2 API shapes (`/api/v2/summary.json` and its parts), from a tenant's page.

Field names and value sets as Statuspage documents them: a page (`id`, `name`, `url`, `time_zone`,
`updated_at`), a status (`indicator` none/minor/major/critical/maintenance, `description`),
components (`status` operational/degraded_performance/partial_outage/major_outage/
under_maintenance), incidents with `incident_updates`, scheduled maintenances with `scheduled_for`
and `scheduled_until`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ticketd.core.status_page import (
    BUILT_IN_ID,
    COMPONENT_INDICATOR,
    FINISHED_MAINTENANCE,
    INDICATOR_WORDS,
    SEVERITY,
    UNRESOLVED,
    ComponentStatus,
    Health,
)
from ticketd.store.tables import StatusComponent, StatusIncident, StatusIncidentUpdate, StatusPage, Tenant


@dataclass(frozen=True)
class PageData:
    """Everything one page shows, read in one unit of work."""

    tenant: Tenant
    page: StatusPage
    components: Sequence[StatusComponent]
    incidents: Sequence[StatusIncident]
    updates: dict[str, list[StatusIncidentUpdate]]
    health: Health
    url: str


def stamp(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def page_json(data: PageData) -> dict[str, Any]:
    newest = max(
        [
            data.page.updated_at,
            *(c.updated_at for c in data.components),
            *(i.updated_at for i in data.incidents),
        ]
    )
    return {
        "id": data.tenant.slug,
        "name": data.page.name,
        "url": data.url,
        "time_zone": "Etc/UTC",
        "updated_at": stamp(newest),
    }


def components_json(data: PageData) -> list[dict[str, Any]]:
    built_in = _component_json(
        data,
        id=BUILT_IN_ID,
        name="ticketd",
        status=data.health.status.value,
        created_at=data.page.updated_at,
        updated_at=data.health.checked_at,
        position=0,
        description="The ticket service itself, from its own health checks.",
    )
    return [built_in] + [
        _component_json(
            data,
            id=component.id,
            name=component.name,
            status=component.status,
            created_at=component.created_at,
            updated_at=component.updated_at,
            position=component.position,
            description=component.description or None,
        )
        for component in data.components
    ]


def _component_json(
    data: PageData,
    *,
    id: str,
    name: str,
    status: str,
    created_at: datetime,
    updated_at: datetime,
    position: int,
    description: str | None,
) -> dict[str, Any]:
    """A component as Statuspage shows it; ticketd has no component groups, showcases them all."""
    return {
        "id": id,
        "name": name,
        "status": status,
        "created_at": stamp(created_at),
        "updated_at": stamp(updated_at),
        "position": position,
        "description": description,
        "showcase": True,
        "start_date": None,
        "group_id": None,
        "page_id": data.tenant.slug,
        "group": False,
        "only_show_if_degraded": False,
    }


def status_json(data: PageData) -> dict[str, str]:
    """The worst of the components' states and the unresolved incidents' impacts."""
    states = [data.health.status, *(ComponentStatus(c.status) for c in data.components)]
    levels = [COMPONENT_INDICATOR[state] for state in states]
    levels += [incident.impact for incident in unresolved(data) if incident.kind == "incident"]
    levels += ["maintenance" for _ in active_maintenances(data)]
    worst = max(levels, key=SEVERITY.index, default="none")
    return {"indicator": worst, "description": INDICATOR_WORDS[worst]}


def incident_json(data: PageData, incident: StatusIncident) -> dict[str, Any]:
    names = {component.id: component for component in data.components}
    body: dict[str, Any] = {
        "id": incident.id,
        "name": incident.name,
        "status": incident.status,
        "created_at": stamp(incident.created_at),
        "updated_at": stamp(incident.updated_at),
        "monitoring_at": stamp(incident.monitoring_at),
        "resolved_at": stamp(incident.resolved_at),
        "impact": incident.impact,
        "shortlink": f"{data.url}#{incident.id}",
        "started_at": stamp(incident.started_at),
        "page_id": data.tenant.slug,
        "incident_updates": [
            {
                "id": update.id,
                "status": update.status,
                "body": update.body,
                "incident_id": incident.id,
                "created_at": stamp(update.created_at),
                "updated_at": stamp(update.created_at),
                "display_at": stamp(update.created_at),
                "affected_components": update.affected_components or None,
                "deliver_notifications": False,
                "custom_tweet": None,
                "tweet_id": None,
            }
            for update in data.updates.get(incident.id, [])
        ],
        "components": [
            component
            for component in components_json(data)
            if component["id"] in incident.component_ids and component["id"] in names
        ],
    }
    if incident.kind == "maintenance":
        body["scheduled_for"] = stamp(incident.scheduled_for)
        body["scheduled_until"] = stamp(incident.scheduled_until)
    return body


def unresolved(data: PageData) -> list[StatusIncident]:
    return [i for i in data.incidents if i.kind == "incident" and i.status in UNRESOLVED]


def incidents(data: PageData) -> list[StatusIncident]:
    return [i for i in data.incidents if i.kind == "incident"]


def maintenances(data: PageData) -> list[StatusIncident]:
    return [i for i in data.incidents if i.kind == "maintenance"]


def upcoming_maintenances(data: PageData) -> list[StatusIncident]:
    return [i for i in maintenances(data) if i.status == "scheduled"]


def active_maintenances(data: PageData) -> list[StatusIncident]:
    return [i for i in maintenances(data) if i.status in ("in_progress", "verifying")]


def summary_json(data: PageData) -> dict[str, Any]:
    return {
        "page": page_json(data),
        "status": status_json(data),
        "components": components_json(data),
        "incidents": [incident_json(data, i) for i in unresolved(data)],
        "scheduled_maintenances": [
            incident_json(data, i) for i in maintenances(data) if i.status not in FINISHED_MAINTENANCE
        ],
    }
