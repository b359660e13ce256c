"""Mail out comes into being only from committed changes, as webhooks do: the mail fan-out reads the
event log after its cursor and, in one transaction, queues a message for each event that calls for
one, records its Message-ID (so replies to it thread back), and moves its cursor. A fan-out killed
midway commits nothing, and the next reads the same events again: every message is queued once.

Which events call for mail, on tickets that came in by mail only:

- the ticket's creation: an acknowledgement to its requester, if the channel acknowledges and the
  message that opened it was not written by a machine (so two auto-responders never talk forever);
- a public comment by staff: the reply, with the comment's files, to the requester and the cc's
  (internal notes never leave);
- a status change the channel announces (solved, by default): a notice (for solved, saying how to
  reopen it).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketd.core import feed_cursors
from ticketd.core.clock import utcnow
from ticketd.core.event_feed import FeedEvent, Position, events_after, position_of
from ticketd.core.events import EventKind
from ticketd.core.lifecycle import Status
from ticketd.core.mail import templates
from ticketd.core.mail.parsing import tagged_subject
from ticketd.core.principal import Role
from ticketd.store.tables import (
    Attachment,
    Comment,
    EventFeedCursor,
    MailChannel,
    MailMessage,
    MailOutbox,
    Tenant,
    Ticket,
    User,
)

FEED = "mail"
PENDING = "pending"
SENT = "sent"
FAILED = "failed"
# How many of a thread's Message-IDs a message names in References (the newest).
MAX_REFERENCES = 20


@dataclass(frozen=True)
class _Thread:
    channel: MailChannel
    opened_by: MailMessage | None
    message_ids: list[str]


def fan_out(db: Session, *, limit: int = 500) -> int:
    """Queues the mail the next events call for; how many events were read. The caller commits."""
    cursor = feed_cursors.locked_cursor(db, FEED)
    if cursor is None:
        return 0
    if db.scalar(select(MailChannel.id).limit(1)) is None:
        feed_cursors.move_to_end(db, cursor)
        return 0
    events = events_after(db, Position(cursor.txid, cursor.event_id), limit)
    if not events:
        return 0
    with_channels = set(
        db.scalars(
            select(MailChannel.tenant_id).where(
                MailChannel.tenant_id.in_({event.tenant_id for event in events})
            )
        )
    )
    for event in events:
        if event.tenant_id in with_channels and _calls_for_mail(event):
            _queue_for(db, event)
    feed_cursors.move_to(cursor, position_of(events[-1]))
    db.flush()
    return len(events)


def has_news(db: Session) -> bool:
    """Whether the fan-out has anything to read (a read, to spare a write transaction when not)."""
    cursor = db.get(EventFeedCursor, FEED)
    if cursor is None:
        return True
    return bool(events_after(db, Position(cursor.txid, cursor.event_id), 1))


def skip_to_end(db: Session) -> None:
    """Mail out is off: nothing is queued, and turning it on later sends no old news."""
    cursor = feed_cursors.locked_cursor(db, FEED)
    if cursor is not None:
        feed_cursors.move_to_end(db, cursor)


def any_due(db: Session, now: datetime) -> bool:
    query = select(MailOutbox.id).where(MailOutbox.status == PENDING, MailOutbox.next_attempt_at <= now)
    return db.scalar(query.limit(1)) is not None


def _calls_for_mail(event: FeedEvent) -> bool:
    if event.kind == EventKind.CREATED:
        return True
    if event.kind == EventKind.COMMENTED:
        return isinstance(event.new_value, dict) and bool(event.new_value.get("public"))
    return event.kind == EventKind.STATUS_CHANGED


def _queue_for(db: Session, event: FeedEvent) -> None:
    thread = _thread(db, event.ticket_id)
    ticket = db.get(Ticket, event.ticket_id)
    if thread is None or ticket is None:
        return
    requester = db.get(User, ticket.requester_id) if ticket.requester_id else None
    recipients = _recipients(ticket, requester)
    if not recipients:
        return
    tenant = db.get(Tenant, ticket.tenant_id)
    assert tenant is not None
    fields: dict[str, Any] = {
        "ticket_id": ticket.id,
        "subject": ticket.subject,
        "requester": (requester.display_name if requester else "") or "",
        "organisation": tenant.name,
        "tag": f"[{tenant.slug} #{ticket.id}]",
    }
    files: list[int] = []
    if event.kind == EventKind.CREATED:
        opened = thread.opened_by
        if opened is None or opened.automatic or not thread.channel.acknowledge:
            return
        kind, auto_submitted = templates.ACKNOWLEDGEMENT, "auto-replied"
    elif event.kind == EventKind.COMMENTED:
        comment_id = event.new_value.get("comment_id") if isinstance(event.new_value, dict) else None
        comment = db.get(Comment, comment_id) if isinstance(comment_id, int) else None
        author = db.get(User, comment.author_id) if comment and comment.author_id else None
        if comment is None or author is None or author.role == Role.CUSTOMER.value:
            return  # the customer's own words go back to no one
        fields.update(body=comment.body, author=author.display_name)
        files = list(db.scalars(select(Attachment.id).where(Attachment.comment_id == comment.id)))
        kind, auto_submitted = templates.REPLY, ""
    else:
        if event.new_value not in thread.channel.announce:
            return
        fields["status"] = str(event.new_value)
        kind = templates.SOLVED if event.new_value == Status.SOLVED.value else templates.STATUS
        auto_submitted = "auto-generated"
    rendered = templates.render(db, tenant.id, kind, fields)
    _queue(db, tenant, ticket, thread, kind, recipients, rendered, auto_submitted, files)


def _queue(
    db: Session,
    tenant: Tenant,
    ticket: Ticket,
    thread: _Thread,
    kind: str,
    recipients: list[str],
    rendered: templates.Rendered,
    auto_submitted: str,
    files: list[int],
) -> None:
    now = utcnow()
    domain = thread.channel.address.rsplit("@", 1)[1]
    message_id = f"<ticketd.{ticket.id}.{secrets.token_hex(8)}@{domain}>"
    subject = tagged_subject(tenant.slug, ticket.id, rendered.subject)[:500]
    headers = {
        "In-Reply-To": thread.message_ids[-1] if thread.message_ids else "",
        "References": " ".join(thread.message_ids[-MAX_REFERENCES:]),
    }
    if auto_submitted:
        headers["Auto-Submitted"] = auto_submitted
    db.add(
        MailOutbox(
            tenant_id=tenant.id,
            channel_id=thread.channel.id,
            ticket_id=ticket.id,
            kind=kind,
            message_id=message_id,
            sender=thread.channel.address,
            recipients=recipients,
            subject=subject,
            text=rendered.text,
            html=rendered.html,
            headers={name: value for name, value in headers.items() if value},
            attachment_ids=files,
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )
    # Recorded as the thread's: a reply to it finds its ticket, and it coming back is dropped.
    db.add(
        MailMessage(
            tenant_id=tenant.id,
            channel_id=thread.channel.id,
            direction="out",
            message_id=message_id,
            ticket_id=ticket.id,
            sender=thread.channel.address,
            subject=subject,
            action="queued",
            automatic=bool(auto_submitted),
            created_at=now,
        )
    )
    db.flush()


def _thread(db: Session, ticket_id: int) -> _Thread | None:
    """The ticket's mail thread: its messages in and out, and the channel it came by; None when it
    did not come by mail."""
    rows = list(
        db.scalars(select(MailMessage).where(MailMessage.ticket_id == ticket_id).order_by(MailMessage.id))
    )
    inbound = [row for row in rows if row.direction == "in" and row.action in ("created", "commented")]
    channel_id = next((row.channel_id for row in inbound if row.channel_id is not None), None)
    channel = db.get(MailChannel, channel_id) if channel_id is not None else None
    if channel is None:
        return None
    opened = next((row for row in inbound if row.action == "created"), None)
    return _Thread(channel, opened, [row.message_id for row in rows])


def _recipients(ticket: Ticket, requester: User | None) -> list[str]:
    found = [requester.email] if requester is not None and requester.email else []
    found.extend(ticket.cc or [])
    return list(dict.fromkeys(address.lower() for address in found if address and "@" in address))


def due(db: Session, now: datetime, limit: int) -> list[MailOutbox]:
    """Messages due for an attempt, claimed for this worker (PostgreSQL: rows others hold are skipped)."""
    query = (
        select(MailOutbox)
        .where(MailOutbox.status == PENDING, MailOutbox.next_attempt_at <= now)
        .where((MailOutbox.lease_until.is_(None)) | (MailOutbox.lease_until < now))
        .order_by(MailOutbox.next_attempt_at, MailOutbox.id)
        .limit(limit)
    )
    if db.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(db.scalars(query))
