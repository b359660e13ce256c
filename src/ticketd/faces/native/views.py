"""From domain rows to the native wire schemas."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from ticketd.core.sla import ticket_sla
from ticketd.faces.native.schemas import AttachmentOut, CommentOut, EventOut, Sla, TicketOut
from ticketd.store.tables import Attachment, Comment, Ticket, TicketEvent

PLAIN = tuple(name for name in TicketOut.model_fields if name not in ("assignee_ids", "tags", "sla"))


def ticket_out(ticket: Ticket, sla: Sla | None = None) -> TicketOut:
    values = {name: getattr(ticket, name) for name in PLAIN}
    return TicketOut(**values, assignee_ids=ticket.assignee_ids, tags=ticket.tags, sla=sla)


def ticket_with_sla(db: Session, ticket: Ticket) -> TicketOut:
    figures = ticket_sla(db, ticket)
    sla = Sla(
        response_time=figures.response_time,
        resolution_time=figures.resolution_time,
        handling_time=figures.handling_time,
        waiting_time=figures.waiting_time,
    )
    return ticket_out(ticket, sla)


def comment_out(comment: Comment, files: Sequence[Attachment] = ()) -> CommentOut:
    out = CommentOut.model_validate(comment, from_attributes=True)
    out.attachments = [attachment_out(file) for file in files]
    return out


def attachment_out(attachment: Attachment) -> AttachmentOut:
    return AttachmentOut.model_validate(attachment, from_attributes=True)


def event_out(event: TicketEvent) -> EventOut:
    return EventOut.model_validate(event, from_attributes=True)
