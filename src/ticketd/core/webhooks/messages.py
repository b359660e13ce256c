"""What a message says: its type and its body, made from one event of the event log (or, for
operations and endpoints, from the change itself in its own transaction)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketd.core.event_feed import FeedEvent
from ticketd.core.events import EventKind, seen_by_requester
from ticketd.store.tables import Comment, Ticket, TicketAssignee, TicketTag

# A changed value longer than this (a description, a comment) is cut, so a body stays under 20 kB.
MAX_VALUE_CHARS = 4000


class EventType(StrEnum):
    TICKET_CREATED = "ticket.created"
    TICKET_UPDATED = "ticket.updated"
    TICKET_STATUS_CHANGED = "ticket.status_changed"
    # Public comments and internal notes are separate types, so an endpoint takes only the ones it may.
    TICKET_COMMENTED = "ticket.commented"
    TICKET_COMMENTED_INTERNAL = "ticket.commented_internal"
    TICKET_DELETED = "ticket.deleted"
    TICKET_ATTACHMENT_ADDED = "ticket.attachment_added"
    TICKET_ATTACHMENT_REMOVED = "ticket.attachment_removed"
    OPERATION_COMPLETED = "operation.completed"
    OPERATION_FAILED = "operation.failed"
    WEBHOOK_DISABLED = "webhook.disabled"


EVENT_TYPES = frozenset(EventType)


def new_message_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def type_of(event: FeedEvent) -> EventType:
    match EventKind(event.kind):
        case EventKind.CREATED:
            return EventType.TICKET_CREATED
        case EventKind.STATUS_CHANGED | EventKind.REOPENED:
            return EventType.TICKET_STATUS_CHANGED
        case EventKind.COMMENTED:
            public = bool((event.new_value or {}).get("public"))
            return EventType.TICKET_COMMENTED if public else EventType.TICKET_COMMENTED_INTERNAL
        case EventKind.DELETED:
            return EventType.TICKET_DELETED
        case EventKind.FIELD_CHANGED:
            return EventType.TICKET_UPDATED
        case EventKind.ATTACHMENT_ADDED:
            return EventType.TICKET_ATTACHMENT_ADDED
        case EventKind.ATTACHMENT_REMOVED:
            return EventType.TICKET_ATTACHMENT_REMOVED


def comment_id_of(event: FeedEvent) -> int | None:
    """The comment a `commented` event names, else None."""
    value = event.new_value
    if isinstance(value, Mapping) and isinstance(value.get("comment_id"), int):
        return int(value["comment_id"])
    return None


@dataclass(frozen=True, slots=True)
class TicketBrief:
    """What a message says of its ticket, read as plain values (a message is made for every change,
    and mapped objects with their links cost more to load than the rest of the message)."""

    id: int
    subject: str
    status: str
    priority: str
    type: str
    channel: str
    requester_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime
    due_at: datetime | None
    assignee_ids: list[int] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


_BRIEF_COLUMNS = tuple(
    getattr(Ticket, name) for name in TicketBrief.__slots__ if name not in ("assignee_ids", "tags")
)


@dataclass(frozen=True)
class Subjects:
    """The tickets and comments a batch of events names, read in a query each."""

    tickets: dict[int, TicketBrief]
    comments: dict[int, str]

    def data_of(self, event: FeedEvent) -> dict[str, Any]:
        comment_id = comment_id_of(event)
        body = self.comments.get(comment_id) if comment_id is not None else None
        return event_data(event, self.tickets.get(event.ticket_id), body)


def load_subjects(db: Session, events: Sequence[FeedEvent]) -> Subjects:
    ticket_ids = {event.ticket_id for event in events}
    comment_ids = {found for event in events if (found := comment_id_of(event)) is not None}
    tickets: dict[int, TicketBrief] = {}
    if ticket_ids:
        tickets = {
            row.id: TicketBrief(*row)
            for row in db.execute(select(*_BRIEF_COLUMNS).where(Ticket.id.in_(ticket_ids)))
        }
        assignees = select(TicketAssignee.ticket_id, TicketAssignee.user_id).where(
            TicketAssignee.ticket_id.in_(ticket_ids)
        )
        for ticket_id, user_id in db.execute(assignees.order_by(TicketAssignee.position)):
            tickets[ticket_id].assignee_ids.append(user_id)
        tags = select(TicketTag.ticket_id, TicketTag.tag).where(TicketTag.ticket_id.in_(ticket_ids))
        for ticket_id, tag in db.execute(tags.order_by(TicketTag.tag)):
            tickets[ticket_id].tags.append(tag)
    comments: dict[int, str] = {}
    if comment_ids:
        bodies = select(Comment.id, Comment.body).where(Comment.id.in_(comment_ids))
        comments = {row.id: row.body for row in db.execute(bodies)}
    return Subjects(tickets, comments)


def is_public(event: FeedEvent) -> bool:
    """Whether the ticket's requester may see this event (as the REST history shows it)."""
    return seen_by_requester(event.kind, event.new_value)


def ticket_summary(ticket: TicketBrief) -> dict[str, Any]:
    """The ticket's fields a tenant's own systems see, as they stood when the message was made."""
    return {
        "id": ticket.id,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "type": ticket.type,
        "channel": ticket.channel,
        "requester_id": ticket.requester_id,
        "assignee_ids": _cut(ticket.assignee_ids),
        "tags": _cut(ticket.tags),
        "version": ticket.version,
        "created_at": stamp(ticket.created_at),
        "updated_at": stamp(ticket.updated_at),
        "due_at": stamp(ticket.due_at),
    }


def event_data(event: FeedEvent, ticket: TicketBrief | None, comment: str | None = None) -> dict[str, Any]:
    """The `data` of a ticket event's message: the ticket, and exactly the change the event recorded."""
    data: dict[str, Any] = {
        "event_id": event.id,
        "ticket_id": event.ticket_id,
        "actor_id": event.actor_id,
        "ticket": ticket_summary(ticket) if ticket is not None else None,
    }
    kind = EventKind(event.kind)
    if kind in (EventKind.STATUS_CHANGED, EventKind.REOPENED):
        data["change"] = {"field": "status", "old": event.old_value, "new": event.new_value}
        data["reopened"] = kind is EventKind.REOPENED
    elif kind is EventKind.FIELD_CHANGED:
        data["change"] = {"field": event.field, "old": _cut(event.old_value), "new": _cut(event.new_value)}
    elif kind is EventKind.COMMENTED:
        value = event.new_value if isinstance(event.new_value, Mapping) else {}
        data["comment"] = {
            "id": value.get("comment_id"),
            "public": bool(value.get("public")),
            "body": _cut(comment) if comment is not None else None,
        }
    elif kind in (EventKind.ATTACHMENT_ADDED, EventKind.ATTACHMENT_REMOVED):
        data["attachment"] = dict(event.new_value) if isinstance(event.new_value, Mapping) else None
    return data


def body(event_type: str, timestamp: datetime, data: Mapping[str, Any]) -> str:
    """The exact bytes every attempt sends (and signs)."""
    return orjson.dumps({"type": event_type, "timestamp": stamp(timestamp), "data": data}).decode()


def _cut(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        return value[:MAX_VALUE_CHARS] + "…"
    if isinstance(value, list | dict) and len(orjson.dumps(value)) > MAX_VALUE_CHARS:
        return {"truncated": True}
    return value


def stamp(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")
