"""The ticket's history: every change written to the event log as it is made (ticket_events), which
the history pages, webhooks and the event stream read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ticketd.core.events import EventKind
from ticketd.core.principal import Principal
from ticketd.store.tables import Ticket, TicketEvent


def touch(ticket: Ticket, principal: Principal, now: datetime) -> None:
    ticket.version += 1
    ticket.updated_at = now
    ticket.modifier_id = principal.user_id


def log_change(
    db: Session,
    ticket: Ticket,
    principal: Principal,
    kind: EventKind,
    field_name: str | None,
    old: Any,
    new: Any,
    now: datetime,
) -> None:
    db.add(
        TicketEvent(
            tenant_id=ticket.tenant_id,
            ticket_id=ticket.id,
            actor_id=principal.user_id,
            at=now,
            kind=kind.value,
            field=field_name,
            old_value=jsonable(old),
            new_value=jsonable(new),
        )
    )


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value
