"""Labels: a tenant's named, coloured marks that staff put on tickets. A ticket keeps its labels'
ids (as text) in its `labels` field, so a change to them is an ordinary, logged ticket change."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketd.core import tickets
from ticketd.core.errors import Forbidden, InvalidInput
from ticketd.core.principal import Principal
from ticketd.core.text import require_storable
from ticketd.store.tables import Label, Ticket


def tenant_labels(db: Session, tenant_id: int) -> dict[str, Label]:
    """Every label of the tenant by its id as text (how tickets refer to them), oldest first."""
    return {
        str(label.id): label
        for label in db.scalars(select(Label).where(Label.tenant_id == tenant_id).order_by(Label.id))
    }


def create_label(db: Session, principal: Principal, *, name: str, color: str) -> Label:
    if principal.is_customer:
        raise Forbidden("customers cannot create labels")
    require_storable(name, "/name")
    require_storable(color, "/color")
    if any(label.name == name for label in tenant_labels(db, principal.tenant_id).values()):
        raise InvalidInput("a label with this name exists")
    label = Label(tenant_id=principal.tenant_id, name=name, color=color)
    db.add(label)
    db.flush()
    return label


def labels_of(ticket: Ticket, labels: dict[str, Label]) -> list[Label]:
    """The ticket's labels that still exist, in the ticket's order."""
    return [labels[label_id] for label_id in ticket.labels if label_id in labels]


def change_ticket_labels(
    db: Session, principal: Principal, ticket_id: int, label_ids: Iterable[str], *, add: bool
) -> Ticket:
    """Adds or removes labels by id; unknown ids are refused and nothing changes."""
    ticket = tickets.get_ticket(db, principal, ticket_id)
    if principal.is_customer:
        raise Forbidden("customers cannot label cases")
    labels = tenant_labels(db, principal.tenant_id)
    wanted = [label_id for label_id in label_ids if label_id]
    unknown = [label_id for label_id in wanted if label_id not in labels]
    if unknown:
        raise InvalidInput(f"unknown labels: {', '.join(unknown)}")
    current = list(ticket.labels)
    updated = sorted(set(current) | set(wanted), key=int) if add else [i for i in current if i not in wanted]
    return tickets.update_ticket(db, principal, ticket.id, tickets.Changes(values={"labels": updated}))
