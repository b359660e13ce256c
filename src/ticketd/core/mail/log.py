"""The record of a tenant's mail, as admins read it: each message taken in or sent, what became of
it, and for mail out where its sending has got to."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketd.core.errors import Forbidden
from ticketd.core.principal import Principal, Role
from ticketd.store.tables import MailMessage, MailOutbox


@dataclass(frozen=True)
class MailRecord:
    message: MailMessage
    sending: MailOutbox | None


def records(db: Session, principal: Principal, *, limit: int, before: int | None = None) -> list[MailRecord]:
    if principal.role is not Role.ADMIN:
        raise Forbidden("only an admin reads the mail's record")
    query = select(MailMessage).where(MailMessage.tenant_id == principal.tenant_id)
    if before is not None:
        query = query.where(MailMessage.id < before)
    found = list(db.scalars(query.order_by(MailMessage.id.desc()).limit(limit)))
    sent_ids = [message.message_id for message in found if message.direction == "out"]
    sending = (
        {
            row.message_id: row
            for row in db.scalars(
                select(MailOutbox).where(
                    MailOutbox.tenant_id == principal.tenant_id, MailOutbox.message_id.in_(sent_ids)
                )
            )
        }
        if sent_ids
        else {}
    )
    return [MailRecord(message, sending.get(message.message_id)) for message in found]
