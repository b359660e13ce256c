"""What a bulk update selects and what it does to each ticket, through the same rules as one at a time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketd.core import tickets
from ticketd.core.errors import DomainError
from ticketd.core.lifecycle import Status
from ticketd.core.principal import Principal
from ticketd.store.tables import Ticket


def matching_ticket_ids(db: Session, principal: Principal, params: dict[str, Any]) -> list[int]:
    if params.get("tag") is not None:
        filters = tickets.TicketFilter(tag=str(params["tag"]))
    else:
        spec = params.get("filter") or {}
        filters = tickets.TicketFilter(
            status=[Status(s) for s in spec.get("status", [])],
            assignee_id=spec.get("assignee"),
            requester_id=spec.get("requester"),
            tag=spec.get("tag"),
            text=spec.get("q"),
        )
    query = select(Ticket.id).where(*tickets.filter_conditions(principal, filters)).order_by(Ticket.id)
    return list(db.scalars(query))


def apply_bulk_changes(
    db: Session, principal: Principal, ticket_ids: list[int], params: dict[str, Any]
) -> dict[str, Any]:
    """Applies the changes to each ticket; a ticket the rules refuse is reported and left as it was."""
    changes = params.get("set") or {}
    add = {str(t) for t in params.get("add_tags") or []}
    remove = {str(t) for t in params.get("remove_tags") or []}
    updated = 0
    errors: list[dict[str, Any]] = []
    for ticket_id in ticket_ids:
        savepoint = db.begin_nested()
        try:
            ticket = tickets.get_ticket(db, principal, ticket_id)
            new_tags = sorted((set(ticket.tags) | add) - remove) if add or remove else None
            status = Status(changes["status"]) if changes.get("status") else None
            tickets.update_ticket(
                db,
                principal,
                ticket_id,
                tickets.Changes(
                    values={k: v for k, v in changes.items() if k == "priority"},
                    assignee_ids=changes.get("assignee_ids"),
                    tags=new_tags,
                ),
                status=status,
            )
            savepoint.commit()
            updated += 1
        except (DomainError, ValueError) as exc:
            savepoint.rollback()
            errors.append({"ticket_id": ticket_id, "reason": str(exc)})
    return {"updated": updated, "errors": errors}
