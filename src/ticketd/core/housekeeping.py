"""What the worker removes once it has outlived its use: finished operations with their files, the
mirror's change log beyond its newest entries, idempotency records past their lifetime, access
tokens past their expiry, console sessions ended or expired, files uploaded ahead that nothing
claimed in time (with their bytes), and webhook messages (with their
delivery log) as old as finished operations. Every step is idempotent, so any worker may run it
at any time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from ticketd.core import attachments, console_sessions
from ticketd.core.operations import purge_finished
from ticketd.core.webhooks.deliveries import purge_finished_messages
from ticketd.store.tables import AccessToken, IdempotencyRecord
from ticketd.store.ticket_changes import prune_ticket_changes


@dataclass(frozen=True)
class Purged:
    operations: int
    idempotency_records: int
    access_tokens: int
    webhook_messages: int = 0
    unclaimed_attachments: int = 0


def purge(
    db: Session,
    *,
    now: datetime,
    retention: timedelta,
    idempotency_ttl: timedelta,
    unclaimed_attachments: timedelta = timedelta(hours=24),
) -> Purged:
    operations = purge_finished(db, finished_before=now - retention)
    prune_ticket_changes(db)
    records = db.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - idempotency_ttl)
    )
    # An expired token answers as an unknown one, so nothing is lost by forgetting it.
    tokens = db.execute(delete(AccessToken).where(AccessToken.expires_at < now))
    messages = purge_finished_messages(db, created_before=now - retention)
    console_sessions.purge(db, now=now)
    files = attachments.purge_unclaimed(db, uploaded_before=now - unclaimed_attachments)
    return Purged(operations, _count(records), _count(tokens), messages, files)


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
