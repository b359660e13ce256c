"""A message in, whichever way it came (the HTTP route an MTA posts to, `ticketd mail deliver`):
a new ticket, a comment on the ticket it answers, or nothing, and always a record of which and
why, in the same transaction, keyed by its Message-ID so that the same message is taken once.

Threading: a reply belongs to a ticket when its In-Reply-To or References name a message ticketd
took in or sent for that ticket, or else when its subject carries the ticket's `[tenant #id]` tag;
and only when its sender is the ticket's requester, one of its cc's, or the tenant's staff.
Anything else starts a ticket. A bounce (multipart/report) is recorded against the message it
reports on; a message of ticketd's own is dropped; a sender who opens more than a set number of
tickets an hour is ignored past it, so two auto-responders cannot fill the store.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import timedelta
from email import policy
from email.parser import BytesParser

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ticketd.core import attachments, identity, tickets
from ticketd.core.attachments import IncomingFile
from ticketd.core.clock import utcnow
from ticketd.core.errors import DomainError, InvalidTransition
from ticketd.core.lifecycle import Status
from ticketd.core.mail.channels import OnClosed, UnknownSenders, for_recipients
from ticketd.core.mail.parsing import InboundMail, MailFile, parse, ticket_tag
from ticketd.core.principal import Principal, Role
from ticketd.core.vocabulary import Channel
from ticketd.settings import Settings
from ticketd.store.tables import MailChannel, MailMessage, Tenant, Ticket, User

MAX_SUBJECT_CHARS = 500
# What is kept of a message too large to take: enough for its headers.
HEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class MailLimits:
    max_bytes: int
    new_tickets_per_sender_hour: int
    files: attachments.Limits

    @classmethod
    def of(cls, settings: Settings) -> MailLimits:
        return cls(
            settings.max_mail_bytes,
            settings.mail_new_tickets_per_sender_hour,
            attachments.Limits.of(settings),
        )


@dataclass(frozen=True)
class Outcome:
    message_id: str
    action: str
    ticket_id: int | None = None
    reason: str | None = None


def take(db: Session, tenant: Tenant, raw: bytes, limits: MailLimits) -> Outcome:
    """Takes one raw message for the tenant; the caller commits."""
    if len(raw) > limits.max_bytes:
        return take_oversized(db, tenant, raw[:HEAD_BYTES], len(raw), limits)
    mail = parse(raw)
    message_id = mail.message_id or _made_up_id(raw)
    known = _already_known(db, tenant.id, message_id)
    if known is not None:
        return known
    channel = for_recipients(db, tenant.id, mail.recipients)
    if channel is None:
        return _record(
            db, tenant, None, mail, message_id, "ignored", reason="no mail channel among its recipients"
        )
    if mail.is_bounce:
        bounced = _known_ticket(db, tenant.id, [mail.bounce_of] if mail.bounce_of else [])
        reason = f"a delivery failure report for {mail.bounce_of or 'a message it does not name'}"
        return _record(db, tenant, channel, mail, message_id, "bounce", ticket_id=bounced, reason=reason)
    try:
        with db.begin_nested():
            return _take(db, tenant, channel, mail, raw, message_id, limits)
    except DomainError as exc:
        # Nothing of it is kept (the savepoint is gone); only the record of why.
        return _record(db, tenant, channel, mail, message_id, "refused", reason=exc.message[:500])


def _already_known(db: Session, tenant_id: int, message_id: str) -> Outcome | None:
    """A message taken (or sent) before is not taken again: it is answered as ignored, with why."""
    known = db.scalar(
        select(MailMessage).where(MailMessage.tenant_id == tenant_id, MailMessage.message_id == message_id)
    )
    if known is None:
        return None
    why = "one of ticketd's own messages" if known.direction == "out" else "already taken"
    return Outcome(message_id, "ignored", known.ticket_id, why)


def _take(
    db: Session,
    tenant: Tenant,
    channel: MailChannel,
    mail: InboundMail,
    raw: bytes,
    message_id: str,
    limits: MailLimits,
) -> Outcome:
    sender = _user_by_address(db, tenant.id, mail.sender) if mail.sender else None
    if sender is not None and sender.disabled:
        return _record(
            db, tenant, channel, mail, message_id, "refused", reason="the sender's account is disabled"
        )
    ticket = _thread(db, tenant, mail, sender)
    if (
        ticket is not None
        and ticket.status == Status.CLOSED.value
        and channel.on_closed == OnClosed.NEW.value
    ):
        ticket = None
    if ticket is not None and sender is not None:
        principal = _principal(sender)
        if ticket.status in (Status.SOLVED.value, Status.CLOSED.value):
            try:
                tickets.transition(db, principal, ticket.id, Status.OPEN, reopen=True)
            except InvalidTransition:
                ticket = None
        if ticket is not None:
            text = mail.reply_text or "(no text)"
            comment = tickets.add_comment(db, principal, ticket.id, body=text, public=True)
            ahead = [
                attachments.add(db, principal, file, _file_limits(limits), ticket_id=None).id
                for file in _files(mail, raw)
            ]
            attachments.claim(db, principal, ticket, ahead, _file_limits(limits), comment=comment)
            return _record(db, tenant, channel, mail, message_id, "commented", ticket.id, comment.id)
    if sender is None:
        if channel.unknown_senders == UnknownSenders.REFUSE.value or not mail.sender:
            return _record(
                db, tenant, channel, mail, message_id, "refused", reason="the sender is not known here"
            )
        sender = _new_customer(db, tenant, mail)
    if _opened_lately(db, tenant.id, mail.sender) >= limits.new_tickets_per_sender_hour:
        reason = f"more than {limits.new_tickets_per_sender_hour} new tickets an hour from {mail.sender}"
        return _record(db, tenant, channel, mail, message_id, "ignored", reason=reason)
    principal = _principal(sender)
    subject = (mail.subject or "(no subject)")[:MAX_SUBJECT_CHARS]
    changes = tickets.Changes(values={"subject": subject, "content": mail.full_text})
    ticket = tickets.create_ticket(db, principal, changes, came_by=Channel.EMAIL)
    for file in _files(mail, raw):
        attachments.add(db, principal, file, _file_limits(limits), ticket_id=ticket.id)
    return _record(db, tenant, channel, mail, message_id, "created", ticket.id)


def _thread(db: Session, tenant: Tenant, mail: InboundMail, sender: User | None) -> Ticket | None:
    """The ticket this message answers, if its sender may answer it."""
    ticket_id = _known_ticket(db, tenant.id, [*mail.in_reply_to, *reversed(mail.references)])
    if ticket_id is None:
        tag = ticket_tag(mail.subject)
        ticket_id = tag[1] if tag is not None and tag[0] == tenant.slug.lower() else None
    ticket = db.get(Ticket, ticket_id) if ticket_id is not None else None
    if ticket is None or ticket.tenant_id != tenant.id or sender is None:
        return None
    may_answer = (
        sender.role != Role.CUSTOMER.value
        or sender.id == ticket.requester_id
        or mail.sender in {address.lower() for address in ticket.cc}
    )
    return ticket if may_answer else None


def _known_ticket(db: Session, tenant_id: int, message_ids: list[str]) -> int | None:
    for message_id in message_ids:
        found = db.scalar(
            select(MailMessage.ticket_id).where(
                MailMessage.tenant_id == tenant_id, MailMessage.message_id == message_id
            )
        )
        if found is not None:
            return int(found)
    return None


def _files(mail: InboundMail, raw: bytes) -> list[IncomingFile]:
    """The message's files and the whole message as `message.eml`, so nothing of it is lost."""
    found = [*mail.files, MailFile("message.eml", "message/rfc822", raw, inline=False)]
    return [
        IncomingFile(
            file.filename,
            file.content_type,
            io.BytesIO(file.data),
            len(file.data),
            attachments.sha256_of(file.data),
        )
        for file in found
    ]


def _file_limits(limits: MailLimits) -> attachments.Limits:
    # The whole message is kept even when it is larger than one attachment may be.
    return attachments.Limits(
        max(limits.files.max_bytes, limits.max_bytes), limits.files.per_ticket, limits.files.default_quota
    )


def _user_by_address(db: Session, tenant_id: int, address: str) -> User | None:
    return db.scalar(
        select(User)
        .where(User.tenant_id == tenant_id, func.lower(User.email) == address)
        .order_by(User.id)
        .limit(1)
    )


def _new_customer(db: Session, tenant: Tenant, mail: InboundMail) -> User:
    name = mail.sender_name.strip() or mail.sender
    username = (
        mail.sender
        if identity.user_by_username(db, tenant_id=tenant.id, username=mail.sender) is None
        else None
    )
    return identity.create_user(
        db,
        tenant=tenant,
        username=(username or f"{mail.sender}#{utcnow().timestamp():.0f}")[:200],
        role=Role.CUSTOMER,
        password=None,
        display_name=name[:200],
        email=mail.sender,
    )


def _opened_lately(db: Session, tenant_id: int, sender: str) -> int:
    since = utcnow() - timedelta(hours=1)
    count = db.scalar(
        select(func.count())
        .select_from(MailMessage)
        .where(
            MailMessage.tenant_id == tenant_id,
            MailMessage.sender == sender,
            MailMessage.created_at >= since,
            MailMessage.action == "created",
        )
    )
    return int(count or 0)


def _principal(user: User) -> Principal:
    return Principal(
        tenant_id=user.tenant_id, user_id=user.id, role=Role(user.role), credential_id=f"mail:{user.id}"
    )


def _record(
    db: Session,
    tenant: Tenant,
    channel: MailChannel | None,
    mail: InboundMail,
    message_id: str,
    action: str,
    ticket_id: int | None = None,
    comment_id: int | None = None,
    reason: str | None = None,
) -> Outcome:
    db.add(
        MailMessage(
            tenant_id=tenant.id,
            channel_id=channel.id if channel is not None else None,
            direction="in",
            message_id=message_id,
            ticket_id=ticket_id,
            comment_id=comment_id,
            sender=mail.sender[:320],
            subject=mail.subject[:500],
            action=action,
            reason=reason,
            automatic=mail.automatic is not None,
            created_at=utcnow(),
        )
    )
    db.flush()
    return Outcome(message_id, action, ticket_id, reason)


def take_oversized(db: Session, tenant: Tenant, head: bytes, size: int, limits: MailLimits) -> Outcome:
    """A message too large to take, of which the caller kept only the first HEAD_BYTES: its
    headers are read for the record of its refusal, and nothing else of it is stored."""
    headers = BytesParser(policy=policy.default).parsebytes(head, headersonly=True)
    mail = parse(headers.as_bytes() if headers.keys() else b"")
    message_id = mail.message_id or _made_up_id(head)
    known = _already_known(db, tenant.id, message_id)
    if known is not None:
        return known
    channel = for_recipients(db, tenant.id, mail.recipients)
    reason = f"the message has {size} bytes; at most {limits.max_bytes} are taken"
    return _record(db, tenant, channel, mail, message_id, "refused", reason=reason)


def _made_up_id(raw: bytes) -> str:
    # A message without a Message-ID gets one from its bytes: the same bytes again are the same message.
    return f"<{hashlib.sha256(raw).hexdigest()}@no-message-id.ticketd.invalid>"
