"""Changing tickets: create, change, move through the lifecycle, comment, delete. Every change is
written to the history as it is made (history.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ticketd.core import etags
from ticketd.core.clock import utcnow
from ticketd.core.errors import FieldError, Forbidden, InvalidInput, PreconditionFailed
from ticketd.core.events import EventKind
from ticketd.core.lifecycle import Status, check_reopen, check_transition
from ticketd.core.principal import Principal, Role
from ticketd.core.text import require_storable
from ticketd.core.ticket_fields import CLASSIFICATION
from ticketd.core.tickets.history import jsonable, log_change, touch
from ticketd.core.tickets.queries import etag_of, get_ticket
from ticketd.core.tickets.values import checked_values, require_subject
from ticketd.core.vocabulary import Channel, Priority, TicketType
from ticketd.store import blobs
from ticketd.store.bulk import allocate_ids
from ticketd.store.tables import Comment, Ticket, TicketAssignee, TicketTag, User


@dataclass
class Changes:
    """Field name to new value, plus the people and tags, as a face decoded them."""

    values: dict[str, Any] = field(default_factory=dict)
    requester_id: int | None = None
    assignee_ids: list[int] | None = None
    tags: list[str] | None = None


def create_ticket(
    db: Session,
    principal: Principal,
    changes: Changes,
    *,
    status: Status = Status.NEW,
    classification: Mapping[str, Any] | None = None,
    came_by: Channel | None = None,
) -> Ticket:
    """`came_by` is the channel an intake of ticketd's own took the ticket in by (mail), which a
    requester may not set for themselves."""
    now = utcnow()
    values = checked_values(principal, changes.values)
    if classification:
        values.update(checked_values(principal, classification, customer_fields=CLASSIFICATION))
    require_subject(values)
    requester_id = principal.user_id if principal.is_customer else (changes.requester_id or principal.user_id)
    _require_user(db, principal, requester_id, "/requester_id")
    (ticket_id,) = allocate_ids(db, 1)
    ticket = Ticket(
        id=ticket_id,
        tenant_id=principal.tenant_id,
        version=1,
        status=status.value,
        requester_id=requester_id,
        subject=values.pop("subject"),
        priority=values.pop("priority", Priority.NORMAL.value),
        type=values.pop("type", TicketType.QUESTION.value),
        channel=came_by.value if came_by is not None else values.pop("channel", Channel.API.value),
        content=values.pop("content", ""),
        description=values.pop("description", ""),
        remarks=values.pop("remarks", ""),
        progress=values.pop("progress", 0),
        cc=values.pop("cc", []),
        labels=values.pop("labels", []),
        custom_fields=values.pop("custom_fields", {}),
        created_at=now,
        updated_at=now,
        status_changed_at=now,
        creator_id=principal.user_id,
        modifier_id=principal.user_id,
        **values,
    )
    db.add(ticket)
    db.flush()
    log_change(db, ticket, principal, EventKind.CREATED, None, None, status.value, now)
    if changes.assignee_ids:
        _set_assignees(db, principal, ticket, changes.assignee_ids, now)
    if changes.tags:
        _set_tags(ticket, changes.tags, principal, db, now)
    db.flush()
    return ticket


def update_ticket(
    db: Session,
    principal: Principal,
    ticket_id: int,
    changes: Changes,
    *,
    if_match: str | None = None,
    status: Status | None = None,
) -> Ticket:
    ticket = get_ticket(db, principal, ticket_id)
    if if_match is not None and not etags.match(if_match, etag_of(ticket)):
        raise PreconditionFailed("the ticket has changed since it was read")
    now = utcnow()
    values = checked_values(principal, changes.values)
    if "subject" in values:
        require_subject(values)
    changed = False
    for name, new in values.items():
        old = getattr(ticket, name)
        if jsonable(old) != jsonable(new):
            setattr(ticket, name, new)
            log_change(db, ticket, principal, EventKind.FIELD_CHANGED, name, old, new, now)
            changed = True
    if changes.requester_id is not None and changes.requester_id != ticket.requester_id:
        _require_staff(principal, "/requester_id")
        _require_user(db, principal, changes.requester_id, "/requester_id")
        log_change(
            db,
            ticket,
            principal,
            EventKind.FIELD_CHANGED,
            "requester_id",
            ticket.requester_id,
            changes.requester_id,
            now,
        )
        ticket.requester_id = changes.requester_id
        changed = True
    if changes.assignee_ids is not None and changes.assignee_ids != ticket.assignee_ids:
        _require_staff(principal, "/assignee_ids")
        _set_assignees(db, principal, ticket, changes.assignee_ids, now)
        changed = True
    if changes.tags is not None and sorted(set(changes.tags)) != ticket.tags:
        _require_staff(principal, "/tags")
        _set_tags(ticket, changes.tags, principal, db, now)
        changed = True
    if status is not None and status.value != ticket.status:
        _apply_status(db, principal, ticket, status, now, reopen=False)
        changed = True
    if changed:
        touch(ticket, principal, now)
    db.flush()
    return ticket


def transition(
    db: Session, principal: Principal, ticket_id: int, target: Status, *, reopen: bool = False
) -> Ticket:
    ticket = get_ticket(db, principal, ticket_id)
    now = utcnow()
    _apply_status(db, principal, ticket, target, now, reopen=reopen)
    touch(ticket, principal, now)
    db.flush()
    return ticket


def _apply_status(
    db: Session, principal: Principal, ticket: Ticket, target: Status, now: datetime, *, reopen: bool
) -> None:
    current = Status(ticket.status)
    if principal.is_customer and not (reopen or target in (Status.CANCELED, Status.CLOSED)):
        # A requester may withdraw, accept (close) or reopen their ticket; the rest is staff work.
        raise Forbidden("customers may only cancel, close or reopen their tickets")
    if reopen:
        check_reopen(current)
        target = Status.OPEN
        ticket.reopened_at = now
    else:
        check_transition(current, target)
    ticket.status = target.value
    ticket.status_changed_at = now
    if target is Status.OPEN:
        ticket.opened_at = ticket.opened_at if ticket.opened_at and not reopen else now
        ticket.opener_id = principal.user_id
    elif target is Status.PENDING:
        ticket.pending_at = now
    elif target is Status.SOLVED:
        ticket.solved_at = now
        ticket.solver_id = principal.user_id
    elif target in (Status.CLOSED, Status.CANCELED, Status.INVALID):
        ticket.closed_at = now
        ticket.closer_id = principal.user_id
    log_change(
        db,
        ticket,
        principal,
        EventKind.REOPENED if reopen else EventKind.STATUS_CHANGED,
        "status",
        current.value,
        target.value,
        now,
    )


def add_comment(db: Session, principal: Principal, ticket_id: int, *, body: str, public: bool) -> Comment:
    ticket = get_ticket(db, principal, ticket_id)
    if not body.strip():
        raise InvalidInput("a comment needs a body", [FieldError("/body", "must not be empty")])
    require_storable(body, "/body")
    if principal.is_customer and not public:
        raise Forbidden("customers cannot write internal comments")
    now = utcnow()
    comment = Comment(
        tenant_id=ticket.tenant_id,
        ticket_id=ticket.id,
        author_id=principal.user_id,
        body=body,
        public=public,
        created_at=now,
    )
    db.add(comment)
    db.flush()
    ticket.commented_at = now
    if (
        principal.is_staff
        and public
        and ticket.responder_id is None
        and principal.user_id != ticket.requester_id
    ):
        ticket.responder_id = principal.user_id
    log_change(
        db,
        ticket,
        principal,
        EventKind.COMMENTED,
        None,
        None,
        {"comment_id": comment.id, "public": public},
        now,
    )
    touch(ticket, principal, now)
    db.flush()
    return comment


def delete_ticket(db: Session, principal: Principal, ticket_id: int) -> None:
    ticket = get_ticket(db, principal, ticket_id)
    _require_staff(principal, "")
    log_change(db, ticket, principal, EventKind.DELETED, None, ticket.status, None, utcnow())
    db.delete(ticket)
    db.flush()
    # Its attachments went with it (the store's cascade); bytes no other ticket holds go too.
    blobs.free_unused(db, ticket.tenant_id)


def _require_staff(principal: Principal, pointer: str) -> None:
    if not principal.is_staff:
        raise Forbidden(f"only staff may change {pointer.lstrip('/') or 'this'}")


def _require_user(db: Session, principal: Principal, user_id: int, pointer: str) -> User:
    user = db.get(User, user_id)
    if user is None or user.tenant_id != principal.tenant_id:
        raise InvalidInput("unknown user", [FieldError(pointer, f"no user {user_id}")])
    return user


def _set_assignees(
    db: Session, principal: Principal, ticket: Ticket, user_ids: list[int], now: datetime
) -> None:
    ordered = list(dict.fromkeys(user_ids))
    for user_id in ordered:
        user = _require_user(db, principal, user_id, "/assignee_ids")
        if user.role == Role.CUSTOMER.value:
            raise InvalidInput(
                "customers cannot be assignees",
                [FieldError("/assignee_ids", f"user {user_id} is a customer")],
            )
    old = ticket.assignee_ids
    ticket.assignee_links = [TicketAssignee(user_id=uid, position=i) for i, uid in enumerate(ordered)]
    ticket.assigned_at = now if ordered else None
    ticket.handler_id = ordered[0] if ordered else None
    log_change(db, ticket, principal, EventKind.FIELD_CHANGED, "assignee_ids", old, ordered, now)


def _set_tags(ticket: Ticket, tags: list[str], principal: Principal, db: Session, now: datetime) -> None:
    cleaned = sorted({require_storable(tag, "/tags").strip() for tag in tags if tag.strip()})
    if any(len(tag) > 100 for tag in cleaned):
        raise InvalidInput("tags are at most 100 characters", [FieldError("/tags", "a tag is too long")])
    old = ticket.tags
    ticket.tag_links = [TicketTag(tag=tag, tenant_id=ticket.tenant_id) for tag in cleaned]
    log_change(db, ticket, principal, EventKind.FIELD_CHANGED, "tags", old, cleaned, now)
