"""Attachments: files on tickets and on their comments, for every face.

A file's bytes are a blob, stored once per tenant whatever the number of attachments that carry
them (the same screenshot sent twice takes its space once), in parts of a megabyte: they go into
the store and come out a part at a time, so a file of any size costs a request one part of memory.
(store/blobs.py). A blob no attachment names any more is deleted at once, in the transaction that let it go.

An attachment may come before its ticket (a Huawei OSM accessory is uploaded, then named when the
case is created): it is then its uploader's alone until a ticket claims it, and removed if none
does (`purge_unclaimed`). Adding and removing one is written to the ticket's history.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ticketd.core.clock import utcnow
from ticketd.core.errors import (
    FieldError,
    Forbidden,
    InvalidInput,
    LimitReached,
    NotFound,
    StorageFull,
    TooLarge,
)
from ticketd.core.events import EventKind
from ticketd.core.media_types import HEAD_BYTES, detect
from ticketd.core.principal import Principal
from ticketd.core.text import require_storable
from ticketd.core.tickets.history import log_change, touch
from ticketd.core.tickets.queries import get_ticket
from ticketd.settings import Settings
from ticketd.store import blobs
from ticketd.store.tables import Attachment, AttachmentBlob, Comment, Tenant, Ticket

MAX_FILENAME_CHARS = 255


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    per_ticket: int
    default_quota: int

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            settings.max_attachment_bytes,
            settings.max_attachments_per_ticket,
            settings.attachment_quota_bytes,
        )


@dataclass(frozen=True)
class IncomingFile:
    """A file as a face received it: spooled aside as it arrived, measured and hashed on the way
    (web/attachment_uploads.py), so nothing here reads it whole."""

    filename: str
    claimed_type: str | None
    source: IO[bytes]
    size: int
    sha256: str


@dataclass(frozen=True)
class StorageUse:
    used: int
    quota: int


def add(
    db: Session,
    principal: Principal,
    file: IncomingFile,
    limits: Limits,
    *,
    ticket_id: int | None,
) -> Attachment:
    """Stores the file and adds it to the ticket, or keeps it for a ticket to claim (ticket_id None)."""
    if file.size > limits.max_bytes:
        raise TooLarge(f"a file may have at most {limits.max_bytes} bytes")
    filename = clean_filename(file.filename)
    ticket = get_ticket(db, principal, ticket_id) if ticket_id is not None else None
    if ticket is not None:
        _require_room(db, ticket, 1, limits)
    blob = _stored_blob(db, principal.tenant_id, file, limits)
    file.source.seek(0)
    media_type = detect(file.source.read(HEAD_BYTES), file.claimed_type)
    now = utcnow()
    attachment = Attachment(
        tenant_id=principal.tenant_id,
        ticket_id=None,
        comment_id=None,
        blob_id=blob.id,
        filename=filename,
        content_type=media_type,
        size=file.size,
        sha256=file.sha256,
        created_at=now,
        created_by=principal.user_id,
    )
    db.add(attachment)
    db.flush()
    if ticket is not None:
        _bind(db, principal, ticket, attachment, None, now)
    return attachment


def claim(
    db: Session,
    principal: Principal,
    ticket: Ticket,
    attachment_ids: Sequence[int],
    limits: Limits,
    *,
    comment: Comment | None = None,
    pointer: str = "/attachment_ids",
) -> list[Attachment]:
    """Puts files on a ticket or on one of its comments: files the caller uploaded ahead (none
    claimed yet), or, for a comment, files already on this ticket and on no comment."""
    wanted = list(dict.fromkeys(attachment_ids))
    if not wanted:
        return []
    found = {
        attachment.id: attachment
        for attachment in db.scalars(
            select(Attachment).where(Attachment.id.in_(wanted), Attachment.tenant_id == ticket.tenant_id)
        )
    }
    claimed: list[Attachment] = []
    newcomers = 0
    for attachment_id in wanted:
        attachment = found.get(attachment_id)
        unclaimed = (
            attachment is not None
            and attachment.ticket_id is None
            and attachment.created_by == principal.user_id
        )
        on_ticket = (
            attachment is not None
            and comment is not None
            and attachment.ticket_id == ticket.id
            and attachment.comment_id is None
        )
        if attachment is None or not (unclaimed or on_ticket):
            raise InvalidInput(
                "unknown attachment", [FieldError(pointer, f"no attachment {attachment_id} to attach here")]
            )
        if on_ticket and comment is not None and not comment.public:
            # Its requester has seen it on the ticket already: an internal note takes only files
            # uploaded for it (ahead, unclaimed), which nobody else has seen.
            raise InvalidInput(
                "a file shown on the ticket cannot become internal",
                [
                    FieldError(
                        pointer, f"attachment {attachment_id} is on the ticket; upload it ahead instead"
                    )
                ],
            )
        newcomers += 1 if unclaimed else 0
        claimed.append(attachment)
    _require_room(db, ticket, newcomers, limits)
    now = utcnow()
    for attachment in claimed:
        if attachment.ticket_id is None:
            _bind(db, principal, ticket, attachment, comment, now)
        else:
            attachment.comment_id = comment.id if comment is not None else None
    db.flush()
    return claimed


def get(db: Session, principal: Principal, attachment_id: int) -> Attachment:
    """The attachment, if the caller may see it: another tenant's, another customer's, or one on
    an internal comment (for a customer) answers exactly like a missing one."""
    attachment = db.get(Attachment, attachment_id)
    if attachment is None or not _visible(db, principal, attachment):
        raise NotFound(f"attachment {attachment_id} does not exist")
    return attachment


def list_for_ticket(db: Session, principal: Principal, ticket_id: int) -> list[Attachment]:
    """The ticket's files the caller may see (a customer: the ticket's own and public comments')."""
    ticket = get_ticket(db, principal, ticket_id)
    return for_tickets(db, principal, [ticket.id]).get(ticket.id, [])


def for_tickets(db: Session, principal: Principal, ticket_ids: Sequence[int]) -> dict[int, list[Attachment]]:
    """The files of tickets the caller has been shown (a page of them), by ticket, in one query."""
    if not ticket_ids:
        return {}
    query = select(Attachment).where(
        Attachment.ticket_id.in_(ticket_ids), Attachment.tenant_id == principal.tenant_id
    )
    if principal.is_customer:
        mine = select(Ticket.id).where(Ticket.id.in_(ticket_ids), Ticket.requester_id == principal.user_id)
        internal = select(Comment.id).where(Comment.ticket_id.in_(ticket_ids), Comment.public.is_(False))
        query = query.where(
            Attachment.ticket_id.in_(mine),
            Attachment.comment_id.is_(None) | Attachment.comment_id.not_in(internal),
        )
    grouped: dict[int, list[Attachment]] = {}
    for attachment in db.scalars(query.order_by(Attachment.id)):
        assert attachment.ticket_id is not None
        grouped.setdefault(attachment.ticket_id, []).append(attachment)
    return grouped


def linked(db: Session, attachment_id: int) -> Attachment:
    """The file a signed link names (core/attachment_links.py checked the link; its issuer could
    see the file)."""
    attachment = db.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound(f"attachment {attachment_id} does not exist")
    return attachment


def of_ticket(db: Session, ticket_id: int) -> list[Attachment]:
    """Every file of a ticket, for the operator (the CLI): no caller to scope it to."""
    return list(
        db.scalars(select(Attachment).where(Attachment.ticket_id == ticket_id).order_by(Attachment.id))
    )


def by_comment(attachments: Iterable[Attachment]) -> dict[int, list[Attachment]]:
    grouped: dict[int, list[Attachment]] = {}
    for attachment in attachments:
        if attachment.comment_id is not None:
            grouped.setdefault(attachment.comment_id, []).append(attachment)
    return grouped


def list_unclaimed(db: Session, principal: Principal, attachment_ids: Sequence[int] = ()) -> list[Attachment]:
    """The caller's own files that wait for a ticket (all, or those named)."""
    query = select(Attachment).where(
        Attachment.tenant_id == principal.tenant_id,
        Attachment.ticket_id.is_(None),
        Attachment.created_by == principal.user_id,
    )
    if attachment_ids:
        query = query.where(Attachment.id.in_(attachment_ids))
    return list(db.scalars(query.order_by(Attachment.id)))


def remove(db: Session, principal: Principal, attachment_id: int) -> None:
    """Staff remove a ticket's file; anyone removes a file of their own that no ticket has claimed."""
    attachment = get(db, principal, attachment_id)
    if attachment.ticket_id is not None:
        if not principal.is_staff:
            raise Forbidden("only staff may remove a ticket's files")
        ticket = db.get(Ticket, attachment.ticket_id)
        assert ticket is not None
        now = utcnow()
        log_change(
            db, ticket, principal, EventKind.ATTACHMENT_REMOVED, None, None, _summary(db, attachment), now
        )
        touch(ticket, principal, now)
    blob_id = attachment.blob_id
    db.delete(attachment)
    db.flush()
    blobs.free_unused(db, principal.tenant_id, [blob_id])


def purge_unclaimed(db: Session, uploaded_before: datetime) -> int:
    """Removes files uploaded ahead that no ticket claimed in time, and their bytes; how many."""
    cutoff = uploaded_before
    stale = db.execute(
        select(Attachment.id, Attachment.tenant_id).where(
            Attachment.ticket_id.is_(None), Attachment.created_at < cutoff
        )
    ).all()
    tenants = {tenant_id for _, tenant_id in stale}
    if stale:
        db.execute(delete(Attachment).where(Attachment.id.in_([row_id for row_id, _ in stale])))
    for tenant_id in tenants:
        blobs.free_unused(db, tenant_id)
    return len(stale)


def storage_use(db: Session, tenant_id: int, limits: Limits) -> StorageUse:
    used = db.scalar(
        select(func.coalesce(func.sum(AttachmentBlob.size), 0)).where(AttachmentBlob.tenant_id == tenant_id)
    )
    own = db.scalar(select(Tenant.attachment_quota_bytes).where(Tenant.id == tenant_id))
    return StorageUse(int(used or 0), limits.default_quota if own is None else int(own))


def set_quota(db: Session, tenant_id: int, quota: int | None) -> None:
    """The tenant's own storage quota in bytes; None takes the server's default."""
    if quota is not None and quota < 0:
        raise InvalidInput("a quota is a number of bytes, 0 or more")
    tenant = db.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id} does not exist")
    tenant.attachment_quota_bytes = quota


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def clean_filename(name: str) -> str:
    """A file name as it is kept and shown: the last path segment, no control characters, at most
    255 characters; never empty."""
    require_storable(name, "/filename")
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(char for char in base if unicodedata.category(char)[0] != "C").strip().strip(".")
    if len(base) > MAX_FILENAME_CHARS:
        _, dot, extension = base.rpartition(".")
        keep = extension if dot and len(extension) <= 16 else ""
        base = base[: MAX_FILENAME_CHARS - len(keep) - 1] + ("." + keep if keep else "")
        base = base[:MAX_FILENAME_CHARS]
    return base or "file"


def summary(attachment: Attachment, public: bool) -> dict[str, object]:
    """What the history, webhooks and streams say of a file."""
    return {
        "attachment_id": attachment.id,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "comment_id": attachment.comment_id,
        "public": public,
    }


def _summary(db: Session, attachment: Attachment) -> dict[str, object]:
    public = True
    if attachment.comment_id is not None:
        public = bool(db.scalar(select(Comment.public).where(Comment.id == attachment.comment_id)))
    return summary(attachment, public)


def _bind(
    db: Session,
    principal: Principal,
    ticket: Ticket,
    attachment: Attachment,
    comment: Comment | None,
    now: datetime,
) -> None:
    attachment.ticket_id = ticket.id
    attachment.comment_id = comment.id if comment is not None else None
    db.flush()
    public = comment.public if comment is not None else True
    log_change(
        db, ticket, principal, EventKind.ATTACHMENT_ADDED, None, None, summary(attachment, public), now
    )
    touch(ticket, principal, now)


def _visible(db: Session, principal: Principal, attachment: Attachment) -> bool:
    if attachment.tenant_id != principal.tenant_id:
        return False
    if attachment.ticket_id is None:
        return attachment.created_by == principal.user_id
    if not principal.is_customer:
        return True
    requester = db.scalar(select(Ticket.requester_id).where(Ticket.id == attachment.ticket_id))
    if requester != principal.user_id:
        return False
    if attachment.comment_id is None:
        return True
    return bool(db.scalar(select(Comment.public).where(Comment.id == attachment.comment_id)))


def _require_room(db: Session, ticket: Ticket, adding: int, limits: Limits) -> None:
    if adding <= 0:
        return
    count = (
        db.scalar(select(func.count()).select_from(Attachment).where(Attachment.ticket_id == ticket.id)) or 0
    )
    if count + adding > limits.per_ticket:
        raise LimitReached(
            f"a ticket may have at most {limits.per_ticket} files; ticket {ticket.id} has {count}"
        )


def _stored_blob(db: Session, tenant_id: int, file: IncomingFile, limits: Limits) -> AttachmentBlob:
    """The tenant's blob of these bytes: the one stored before, or a new one if the quota has room.

    The tenant's row is locked first (PostgreSQL), so two uploads at once cannot both take the last
    of the quota, nor both store the same new bytes; SQLite writes one transaction at a time."""
    db.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())
    existing = db.scalar(
        select(AttachmentBlob).where(
            AttachmentBlob.tenant_id == tenant_id, AttachmentBlob.sha256 == file.sha256
        )
    )
    if existing is not None:
        return existing
    use = storage_use(db, tenant_id, limits)
    if use.used + file.size > use.quota:
        raise StorageFull(
            f"the organisation's storage for files is full: {use.used} of {use.quota} bytes used,"
            f" and this file has {file.size}"
        )
    blob = AttachmentBlob(tenant_id=tenant_id, sha256=file.sha256, size=file.size, created_at=utcnow())
    db.add(blob)
    db.flush()
    if blobs.write_parts(db, blob.id, file.source) != file.sha256:
        # The spooled copy changed under us: nothing of it is kept.
        raise InvalidInput("the file changed while it was stored; send it again")
    return blob
