"""What a bulk update selects and what it does to each ticket, through the same rules as one at a time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketd.core import tickets
from ticketd.core.errors import DomainError
from ticketd.core.lifecycle import Status
from ticketd.core.operation_params import BulkUpdateParams
from ticketd.core.principal import Principal
from ticketd.store.tables import Ticket


def matching_ticket_ids(db: Session, principal: Principal, params: BulkUpdateParams) -> list[int]:
    conditions = tickets.filter_conditions(principal, params.ticket_filter())
    return list(db.scalars(select(Ticket.id).where(*conditions).order_by(Ticket.id)))


def apply_bulk_changes(
    db: Session, principal: Principal, ticket_ids: list[int], params: BulkUpdateParams
) -> dict[str, Any]:
    """Applies the changes to each ticket; a ticket the rules refuse is reported and left as it was."""
    changes = params.set
    add = set(params.add_tags)
    remove = set(params.remove_tags)
    status = Status(changes.status) if changes.status else None
    values = {"priority": changes.priority} if changes.priority else {}
    updated = 0
    errors: list[dict[str, Any]] = []
    for ticket_id in ticket_ids:
        savepoint = db.begin_nested()
        try:
            ticket = tickets.get_ticket(db, principal, ticket_id)
            new_tags = sorted((set(ticket.tags) | add) - remove) if add or remove else None
            tickets.update_ticket(
                db,
                principal,
                ticket_id,
                tickets.Changes(values=dict(values), assignee_ids=changes.assignee_ids, tags=new_tags),
                status=status,
            )
            savepoint.commit()
            updated += 1
        except (DomainError, ValueError) as exc:
            savepoint.rollback()
            errors.append({"ticket_id": ticket_id, "reason": str(exc)})
    return {"updated": updated, "errors": errors}
