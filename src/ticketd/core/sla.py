"""SLA figures, derived from a ticket's event log and never typed in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketd.core.clock import utcnow
from ticketd.core.events import EventKind
from ticketd.core.lifecycle import Status
from ticketd.core.principal import Role
from ticketd.store.tables import Ticket, TicketEvent, User


@dataclass(frozen=True)
class SlaFigures:
    response_time: int | None  # seconds from creation to the first public answer by staff
    resolution_time: int | None  # seconds from creation to the resolution in force, if resolved
    handling_time: int  # seconds spent open
    waiting_time: int  # seconds spent pending (waiting on the requester)


RESOLVED = {Status.SOLVED.value, Status.CLOSED.value}


def sla_figures(
    events: Sequence[TicketEvent], *, requester_id: int | None, staff_ids: set[int], now: datetime
) -> SlaFigures:
    created = next((e.at for e in events if e.kind == EventKind.CREATED), None)
    if created is None:
        return SlaFigures(None, None, 0, 0)
    response: int | None = None
    spent: dict[str, float] = {}
    status = Status.NEW.value
    since = created
    resolved_at: datetime | None = None
    for event in events:
        if event.kind == EventKind.COMMENTED and response is None:
            public = bool((event.new_value or {}).get("public"))
            if public and event.actor_id in staff_ids and event.actor_id != requester_id:
                response = int((event.at - created).total_seconds())
        if event.kind in (EventKind.STATUS_CHANGED, EventKind.REOPENED):
            spent[status] = spent.get(status, 0.0) + (event.at - since).total_seconds()
            status, since = str(event.new_value), event.at
            if status in RESOLVED and resolved_at is None:
                resolved_at = event.at
            elif status not in RESOLVED:
                resolved_at = None
    spent[status] = spent.get(status, 0.0) + (now - since).total_seconds()
    resolution = int((resolved_at - created).total_seconds()) if resolved_at else None
    return SlaFigures(
        response_time=response,
        resolution_time=resolution,
        handling_time=int(spent.get(Status.OPEN.value, 0.0)),
        waiting_time=int(spent.get(Status.PENDING.value, 0.0)),
    )


def ticket_sla(db: Session, ticket: Ticket, *, now: datetime | None = None) -> SlaFigures:
    """A ticket's figures from its event log. Staff are the actors who are not customers (now: a
    user whose role changed since counts as what they are today)."""
    events = list(
        db.scalars(
            select(TicketEvent)
            .where(TicketEvent.tenant_id == ticket.tenant_id, TicketEvent.ticket_id == ticket.id)
            .order_by(TicketEvent.id)
        )
    )
    actors = {event.actor_id for event in events if event.actor_id is not None}
    staff = (
        set(db.scalars(select(User.id).where(User.id.in_(actors), User.role != Role.CUSTOMER.value)))
        if actors
        else set()
    )
    return sla_figures(events, requester_id=ticket.requester_id, staff_ids=staff, now=now or utcnow())
