"""From domain rows to the native wire schemas."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketd.core.clock import utcnow
from ticketd.core.principal import Role
from ticketd.core.sla import sla_figures
from ticketd.faces.native.schemas import CommentOut, EventOut, Sla, TicketOut
from ticketd.store.tables import Comment, Ticket, TicketEvent, User

PLAIN = tuple(name for name in TicketOut.model_fields if name not in ("assignee_ids", "tags", "sla"))


def ticket_out(ticket: Ticket, sla: Sla | None = None) -> TicketOut:
    values = {name: getattr(ticket, name) for name in PLAIN}
    return TicketOut(**values, assignee_ids=ticket.assignee_ids, tags=ticket.tags, sla=sla)


def ticket_with_sla(db: Session, ticket: Ticket) -> TicketOut:
    events = list(
        db.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id))
    )
    actors = {event.actor_id for event in events if event.actor_id is not None}
    staff = (
        set(db.scalars(select(User.id).where(User.id.in_(actors), User.role != Role.CUSTOMER.value)))
        if actors
        else set()
    )
    figures = sla_figures(events, requester_id=ticket.requester_id, staff_ids=staff, now=utcnow())
    sla = Sla(
        response_time=figures.response_time,
        resolution_time=figures.resolution_time,
        handling_time=figures.handling_time,
        waiting_time=figures.waiting_time,
    )
    return ticket_out(ticket, sla)


def comment_out(comment: Comment) -> CommentOut:
    return CommentOut.model_validate(comment, from_attributes=True)


def event_out(event: TicketEvent) -> EventOut:
    return EventOut.model_validate(event, from_attributes=True)
