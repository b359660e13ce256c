"""A tenant's mail channels: the addresses its customers write to, and what becomes of their mail.
Admins manage them; an address belongs to one tenant only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ticketd.core.clock import utcnow
from ticketd.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from ticketd.core.lifecycle import Status
from ticketd.core.principal import Principal, Role
from ticketd.core.signing_keys import Sealer
from ticketd.store.tables import MailChannel

MAX_CHANNELS_PER_TENANT = 50


class UnknownSenders(StrEnum):
    CREATE = "create"
    REFUSE = "refuse"


class OnClosed(StrEnum):
    REOPEN = "reopen"
    NEW = "new"


@dataclass(frozen=True)
class ChannelSettings:
    unknown_senders: UnknownSenders | None = None
    acknowledge: bool | None = None
    on_closed: OnClosed | None = None
    # The status changes announced to requesters by mail.
    announce: tuple[Status, ...] | None = None


class ImapSecurity(StrEnum):
    TLS = "tls"
    STARTTLS = "starttls"
    # No TLS at all: for a server on the same host (loopback) only.
    PLAIN = "plain"


class AfterFetch(StrEnum):
    SEEN = "seen"
    MOVE = "move"


@dataclass(frozen=True)
class ImapSettings:
    host: str
    user: str
    password: str
    port: int | None = None
    security: ImapSecurity = ImapSecurity.TLS
    folder: str = "INBOX"
    after: AfterFetch = AfterFetch.SEEN
    move_to: str | None = None
    interval_seconds: int = 60


def sealed_for(channel_id: int) -> str:
    """What a channel's sealed IMAP password is bound to: it opens for that channel only."""
    return f"mail-channel:{channel_id}"


def set_imap(
    db: Session, principal: Principal, channel_id: int, imap: ImapSettings | None, sealer: Sealer
) -> MailChannel:
    """The mailbox the channel's mail is fetched from, or none (None)."""
    channel = get(db, principal, channel_id)
    _require_admin(principal)
    if imap is None:
        channel.imap_host = channel.imap_user = channel.imap_password_sealed = channel.imap_security = None
        channel.imap_port = None
        db.flush()
        return channel
    if imap.after is AfterFetch.MOVE and not imap.move_to:
        raise InvalidInput(
            "name the folder to move fetched mail to", [FieldError("/imap/move_to", "required")]
        )
    if imap.security is ImapSecurity.PLAIN and imap.host not in ("127.0.0.1", "::1", "localhost"):
        raise InvalidInput(
            "a mailbox on another host is reached over TLS",
            [FieldError("/imap/security", "plain is for a server on this host only")],
        )
    changed_mailbox = (channel.imap_host, channel.imap_user, channel.imap_folder) != (
        imap.host,
        imap.user,
        imap.folder,
    )
    channel.imap_host = imap.host
    channel.imap_port = imap.port or (993 if imap.security is ImapSecurity.TLS else 143)
    channel.imap_security = imap.security.value
    channel.imap_user = imap.user
    channel.imap_password_sealed = sealer.seal(imap.password, sealed_for(channel.id))
    channel.imap_folder = imap.folder
    channel.imap_after = imap.after.value
    channel.imap_move_to = imap.move_to
    channel.imap_interval_seconds = max(5, min(imap.interval_seconds, 3600))
    if changed_mailbox:
        channel.imap_uidvalidity, channel.imap_last_uid, channel.imap_error = None, 0, None
    db.flush()
    return channel


def normalised_address(address: str, pointer: str = "/address") -> str:
    """An address as channels keep it: one mailbox, its domain and local part, in lower case."""
    text = address.strip()
    try:
        parsed = Address(addr_spec=text)
    except (ValueError, IndexError) as exc:
        raise InvalidInput("not a mail address", [FieldError(pointer, "write it as name@domain")]) from exc
    if not parsed.username or "." not in parsed.domain or len(text) > 320:
        raise InvalidInput("not a mail address", [FieldError(pointer, "write it as name@domain")])
    return parsed.addr_spec.lower()


def create(db: Session, principal: Principal, address: str, settings: ChannelSettings) -> MailChannel:
    _require_admin(principal)
    normalised = normalised_address(address)
    count = db.scalar(
        select(func.count()).select_from(MailChannel).where(MailChannel.tenant_id == principal.tenant_id)
    )
    if (count or 0) >= MAX_CHANNELS_PER_TENANT:
        raise Conflict(f"a tenant has at most {MAX_CHANNELS_PER_TENANT} mail channels")
    channel = MailChannel(
        tenant_id=principal.tenant_id,
        address=normalised,
        unknown_senders=(settings.unknown_senders or UnknownSenders.CREATE).value,
        acknowledge=True if settings.acknowledge is None else settings.acknowledge,
        on_closed=(settings.on_closed or OnClosed.REOPEN).value,
        announce=[status.value for status in settings.announce]
        if settings.announce is not None
        else ["solved"],
        created_at=utcnow(),
    )
    db.add(channel)
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError as exc:
        # Another tenant's, or already this one's: the same answer, naming no tenant.
        raise Conflict(f"{normalised} is already a mail channel") from exc
    return channel


def update(db: Session, principal: Principal, channel_id: int, settings: ChannelSettings) -> MailChannel:
    channel = get(db, principal, channel_id)
    _require_admin(principal)
    if settings.unknown_senders is not None:
        channel.unknown_senders = settings.unknown_senders.value
    if settings.acknowledge is not None:
        channel.acknowledge = settings.acknowledge
    if settings.on_closed is not None:
        channel.on_closed = settings.on_closed.value
    if settings.announce is not None:
        channel.announce = sorted({status.value for status in settings.announce})
    db.flush()
    return channel


def delete(db: Session, principal: Principal, channel_id: int) -> None:
    channel = get(db, principal, channel_id)
    _require_admin(principal)
    db.delete(channel)
    db.flush()


def get(db: Session, principal: Principal, channel_id: int) -> MailChannel:
    channel = db.get(MailChannel, channel_id)
    if channel is None or channel.tenant_id != principal.tenant_id or not principal.is_staff:
        raise NotFound(f"mail channel {channel_id} does not exist")
    return channel


def list_channels(db: Session, principal: Principal) -> list[MailChannel]:
    if not principal.is_staff:
        raise Forbidden("only staff see the mail channels")
    return list(
        db.scalars(
            select(MailChannel).where(MailChannel.tenant_id == principal.tenant_id).order_by(MailChannel.id)
        )
    )


def for_recipients(db: Session, tenant_id: int, recipients: Sequence[str]) -> MailChannel | None:
    """The tenant's channel the message was sent to (the first of its recipients that is one)."""
    if not recipients:
        return None
    found = {
        channel.address: channel
        for channel in db.scalars(
            select(MailChannel).where(MailChannel.tenant_id == tenant_id, MailChannel.address.in_(recipients))
        )
    }
    return next((found[address] for address in recipients if address in found), None)


def _require_admin(principal: Principal) -> None:
    if principal.role is not Role.ADMIN:
        raise Forbidden("only an admin manages mail channels")
