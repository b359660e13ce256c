"""The schema. Every row of an organisation carries its tenant id, and every query filters on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator, TypeEngine

# Stable constraint names so migrations read the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BigInteger ids on PostgreSQL; SQLite only makes INTEGER PRIMARY KEY an alias of the rowid.
Id = BigInteger().with_variant(Integer(), "sqlite")


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python. PostgreSQL stores timestamptz; SQLite stores integer
    microseconds since the epoch, a third the size of its text form, which keeps the indexes
    that carry a timestamp (the status lookup's, the listings') small enough to stay cached.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | int | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC datetime")
        return to_epoch_micros(value) if dialect.name == "sqlite" else value.astimezone(UTC)

    def process_result_value(self, value: datetime | int | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, int):
            return from_epoch_micros(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def to_epoch_micros(value: datetime) -> int:
    return (value - EPOCH) // MICROSECOND


def from_epoch_micros(value: int) -> datetime:
    return EPOCH + value * MICROSECOND


Stamp = UtcDateTime()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ServerSecret(Base):
    """Secrets every process sharing the store must agree on (JWT signing key, demo seed)."""

    __tablename__ = "server_secrets"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class Tenant(Base):
    __tablename__ = "tenants"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(Stamp)
    # The tenant's own storage for attachments' bytes; empty takes the server's default.
    attachment_quota_bytes: Mapped[int | None] = mapped_column(BigInteger)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "username", name="uq_users_tenant_username"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    username: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(256))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped on every password change or disablement; tokens carry it, so old tokens die at once.
    credential_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(Stamp)


class ApiKey(Base):
    __tablename__ = "api_keys"
    # Covers verification (store/fast_reads.py); see migration 0006.
    __table_args__ = (
        Index(
            "ix_api_keys_verify",
            "id",
            "tenant_id",
            "user_id",
            "secret_digest",
            "scopes",
            "expires_at",
            "revoked_at",
        ),
    )
    # The public half, e.g. "tk_3f9a...". The secret is stored only as a SHA-256 digest: it has
    # 256 bits of entropy, so a slow password hash would add cost and no protection.
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    scopes: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(Stamp)
    expires_at: Mapped[datetime | None] = mapped_column(Stamp)
    revoked_at: Mapped[datetime | None] = mapped_column(Stamp)


class AccessToken(Base):
    """An opaque bearer token issued to a program for one face (OAuth 2.0 client credentials)."""

    __tablename__ = "access_tokens"
    __table_args__ = (Index("ix_access_tokens_api_key", "api_key_id"),)
    digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    face: Mapped[str] = mapped_column(String(32))
    api_key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id"))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    scope: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(Stamp)
    expires_at: Mapped[datetime] = mapped_column(Stamp)
    revoked_at: Mapped[datetime | None] = mapped_column(Stamp)


class SigningKey(Base):
    """An access key (AK) and its secret (SK) for signed requests; the SK is stored sealed."""

    __tablename__ = "signing_keys"
    access_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(Stamp)
    revoked_at: Mapped[datetime | None] = mapped_column(Stamp)


class Label(Base):
    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_labels_tenant_name"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(64))
    color: Mapped[str] = mapped_column(String(16))


class Operation(Base):
    """Work that outlives a request: an import, an export, a bulk update, or a part of one."""

    __tablename__ = "operations"
    __table_args__ = (
        Index("ix_operations_parent", "parent_id", "id"),
        Index("ix_operations_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_operations_claimable", "status", "lease_expires_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("operations.id"))
    kind: Mapped[str] = mapped_column(String(32))
    # pending, running, completed, failed, canceled
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, default=1)
    progress_done: Mapped[int] = mapped_column(BigInteger, default=0)
    progress_total: Mapped[int | None] = mapped_column(BigInteger)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(Stamp)
    started_at: Mapped[datetime | None] = mapped_column(Stamp)
    finished_at: Mapped[datetime | None] = mapped_column(Stamp)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(Stamp)


class OperationPart(Base):
    """A slice of an operation's uploaded input, kept in the store so any worker on any host can read it."""

    __tablename__ = "operation_parts"
    operation_id: Mapped[int] = mapped_column(
        ForeignKey("operations.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class TenantLimits(Base):
    """A tenant's own rate limits and quota on one face; what is left empty takes the face's default."""

    __tablename__ = "tenant_limits"
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    face: Mapped[str] = mapped_column(String(32), primary_key=True)
    # Rate limits in the `limits` library's notation ("600/minute").
    credential_limit: Mapped[str | None] = mapped_column(String(64))
    ip_limit: Mapped[str | None] = mapped_column(String(64))
    # "HH:MM-HH:MM" in the face's time zone; may wrap midnight ("18:00-06:00").
    service_hours: Mapped[str | None] = mapped_column(String(16))
    daily_allowance: Mapped[int | None] = mapped_column(BigInteger)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_tenant_updated", "tenant_id", "updated_at", "id"),
        Index("ix_tickets_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_tickets_tenant_status_updated", "tenant_id", "status", "updated_at", "id"),
        Index("ix_tickets_tenant_requester_updated", "tenant_id", "requester_id", "updated_at", "id"),
        # Covers the status lookup (store/fast_reads.py); see migration 0002.
        Index(
            "ix_tickets_status_lookup", "id", "tenant_id", "requester_id", "status", "version", "updated_at"
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    # Bumped on every change; the strong ETag is derived from it.
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16))

    requester_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cc: Mapped[list[str]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(String(500))
    content: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    solution: Mapped[str | None] = mapped_column(Text)
    remarks: Mapped[str] = mapped_column(Text, default="")
    product: Mapped[str | None] = mapped_column(String(200))
    project: Mapped[str | None] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(200))
    contact: Mapped[str | None] = mapped_column(String(320))
    priority: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    progress: Mapped[int] = mapped_column(Integer, default=0)
    organisation: Mapped[str | None] = mapped_column(String(200))
    branch: Mapped[str | None] = mapped_column(String(200))
    location: Mapped[str | None] = mapped_column(String(200))
    # What Huawei OSM cases carry.
    business_type: Mapped[str | None] = mapped_column(String(100))
    sub_type: Mapped[str | None] = mapped_column(String(100))
    simple_description: Mapped[str | None] = mapped_column(String(500))
    severity: Mapped[str | None] = mapped_column(String(32))
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    due_at: Mapped[datetime | None] = mapped_column(Stamp)
    viewed_at: Mapped[datetime | None] = mapped_column(Stamp)
    opened_at: Mapped[datetime | None] = mapped_column(Stamp)
    reopened_at: Mapped[datetime | None] = mapped_column(Stamp)
    solved_at: Mapped[datetime | None] = mapped_column(Stamp)
    closed_at: Mapped[datetime | None] = mapped_column(Stamp)
    pending_at: Mapped[datetime | None] = mapped_column(Stamp)
    commented_at: Mapped[datetime | None] = mapped_column(Stamp)
    status_changed_at: Mapped[datetime | None] = mapped_column(Stamp)
    assigned_at: Mapped[datetime | None] = mapped_column(Stamp)
    expires_at: Mapped[datetime | None] = mapped_column(Stamp)
    created_at: Mapped[datetime] = mapped_column(Stamp)
    updated_at: Mapped[datetime] = mapped_column(Stamp)

    creator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    modifier_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    viewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opener_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    solver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    responder_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    assignee_links: Mapped[list[TicketAssignee]] = relationship(
        order_by="TicketAssignee.position", cascade="all, delete-orphan", lazy="selectin"
    )
    tag_links: Mapped[list[TicketTag]] = relationship(
        order_by="TicketTag.tag", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def assignee_ids(self) -> list[int]:
        return [link.user_id for link in self.assignee_links]

    @property
    def tags(self) -> list[str]:
        return [link.tag for link in self.tag_links]


class TicketAssignee(Base):
    __tablename__ = "ticket_assignees"
    __table_args__ = (Index("ix_ticket_assignees_user", "user_id", "ticket_id"),)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class TicketTag(Base):
    __tablename__ = "ticket_tags"
    __table_args__ = (Index("ix_ticket_tags_tenant_tag", "tenant_id", "tag", "ticket_id"),)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_ticket", "ticket_id", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(Stamp)


class AttachmentBlob(Base):
    """An attachment's bytes, stored once per tenant however many attachments carry them."""

    __tablename__ = "attachment_blobs"
    __table_args__ = (UniqueConstraint("tenant_id", "sha256", name="uq_attachment_blobs_tenant_sha256"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(Stamp)


class AttachmentPart(Base):
    """A megabyte of a blob: bytes go in and out a part at a time, never whole."""

    __tablename__ = "attachment_parts"
    blob_id: Mapped[int] = mapped_column(
        ForeignKey("attachment_blobs.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Attachment(Base):
    """A file on a ticket (optionally on one of its comments). Uploaded ahead of its ticket (a
    Huawei OSM accessory), it has no ticket until a case or message claims it."""

    __tablename__ = "attachments"
    __table_args__ = (
        Index("ix_attachments_ticket", "ticket_id", "id"),
        Index("ix_attachments_tenant_blob", "tenant_id", "blob_id"),
        Index("ix_attachments_unclaimed", "ticket_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    blob_id: Mapped[int] = mapped_column(ForeignKey("attachment_blobs.id"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Stamp)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class MailChannel(Base):
    """An address customers write to, and what becomes of mail to it (core/mail/)."""

    __tablename__ = "mail_channels"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    # Lower case; one tenant's, whichever tenant writes to it.
    address: Mapped[str] = mapped_column(String(320), unique=True)
    # "create": unknown senders become the tenant's customers; "refuse": their mail is recorded only.
    unknown_senders: Mapped[str] = mapped_column(String(16), default="create")
    acknowledge: Mapped[bool] = mapped_column(Boolean, default=True)
    # A reply to a closed ticket: "reopen" it, or start a "new" one.
    on_closed: Mapped[str] = mapped_column(String(16), default="reopen")
    created_at: Mapped[datetime] = mapped_column(Stamp)
    # The mailbox its mail is fetched from (core/mail/imap.py), when there is one. The password is
    # sealed under the server's key with the channel's id bound in.
    imap_host: Mapped[str | None] = mapped_column(String(255))
    imap_port: Mapped[int | None] = mapped_column(Integer)
    # "tls" from the start, "starttls", or "plain" (a server on the same host only).
    imap_security: Mapped[str | None] = mapped_column(String(16))
    imap_user: Mapped[str | None] = mapped_column(String(320))
    imap_password_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    imap_folder: Mapped[str] = mapped_column(String(255), default="INBOX")
    # What is done with a fetched message: marked "seen", or "move"d to imap_move_to.
    imap_after: Mapped[str] = mapped_column(String(16), default="seen")
    imap_move_to: Mapped[str | None] = mapped_column(String(255))
    imap_interval_seconds: Mapped[int] = mapped_column(Integer, default=60)
    # Where fetching has got to: the folder's UIDVALIDITY and the last UID taken, committed with
    # the tickets made from it, so each message is taken once.
    imap_uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    imap_last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    imap_error: Mapped[str | None] = mapped_column(String(500))
    imap_checked_at: Mapped[datetime | None] = mapped_column(Stamp)
    # The status changes announced by mail to a ticket's requester (solved, by default).
    announce: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["solved"])


class MailTemplate(Base):
    """A tenant's own wording of one kind of mail out; a kind without one uses the default."""

    __tablename__ = "mail_templates"
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(Stamp)


class MailMessage(Base):
    """A message taken in or sent out, by its Message-ID: what threads replies to tickets, what
    makes a second delivery of the same message a no-op, and the record admins read."""

    __tablename__ = "mail_messages"
    __table_args__ = (
        UniqueConstraint("tenant_id", "message_id", name="uq_mail_messages_tenant_message_id"),
        Index("ix_mail_messages_sender", "tenant_id", "sender", "created_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("mail_channels.id", ondelete="SET NULL"))
    direction: Mapped[str] = mapped_column(String(8))
    message_id: Mapped[str] = mapped_column(String(998))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="SET NULL"))
    sender: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500))
    # created, commented, ignored, refused, bounce; and why, for the last three.
    action: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(500))
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(Stamp)


class MailOutbox(Base):
    """A message to send, queued by the mail fan-out (core/mail/outbox.py) and sent by a worker with
    retries (core/mail/sending.py); its Message-ID is fixed when it is queued, so a resend after a
    crash is recognisably the same message."""

    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("mail_channels.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str] = mapped_column(String(998))
    sender: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[list[str]] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    # In-Reply-To, References, Auto-Submitted.
    headers: Mapped[dict[str, str]] = mapped_column(JSON)
    attachment_ids: Mapped[list[int]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(Stamp)
    lease_until: Mapped[datetime | None] = mapped_column(Stamp)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(Stamp)
    sent_at: Mapped[datetime | None] = mapped_column(Stamp)


class TicketEvent(Base):
    """Append-only history. The migration installs triggers that refuse UPDATE and DELETE."""

    __tablename__ = "ticket_events"
    __table_args__ = (
        Index("ix_ticket_events_ticket", "ticket_id", "id"),
        Index("ix_ticket_events_tenant_feed", "tenant_id", "txid", "id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    ticket_id: Mapped[int] = mapped_column(Id)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(Stamp)
    kind: Mapped[str] = mapped_column(String(32))
    field: Mapped[str | None] = mapped_column(String(64))
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    # PostgreSQL: the writing transaction's id (a column default), so readers take events in an
    # order no later commit can fall behind (core/event_feed.py). SQLite commits one at a time: 0.
    txid: Mapped[int] = mapped_column(BigInteger, server_default="0")


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("client", "key", name="uq_idempotency_client_key"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    # The credential that sent the request: keys are scoped per client.
    client: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(255))
    request_digest: Mapped[str] = mapped_column(String(64))
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    headers: Mapped[list[list[str]] | None] = mapped_column(JSON)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(Stamp, index=True)


class WebhookEndpoint(Base):
    """Where a tenant's messages go. The signing secrets are sealed (core/signing_keys.Sealer)."""

    __tablename__ = "webhook_endpoints"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(500), default="")
    # Event types sent here; empty means all.
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    previous_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_until: Mapped[datetime | None] = mapped_column(Stamp)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    # Since when every attempt has failed; cleared by a success.
    failing_since: Mapped[datetime | None] = mapped_column(Stamp)
    created_at: Mapped[datetime] = mapped_column(Stamp)
    updated_at: Mapped[datetime] = mapped_column(Stamp)
    version: Mapped[int] = mapped_column(Integer, default=1)


class WebhookMessage(Base):
    """One message, sent with the same body and `webhook-id` on every attempt to every endpoint."""

    __tablename__ = "webhook_messages"
    __table_args__ = (Index("ix_webhook_messages_tenant_created", "tenant_id", "created_at"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    type: Mapped[str] = mapped_column(String(64))
    # The event log entry it was made from (ticket events), else None.
    event_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Stamp)


class WebhookDelivery(Base):
    """A message on its way to one endpoint: pending until an attempt succeeds or retries run out."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("message_id", "endpoint_id", name="uq_webhook_deliveries_message_endpoint"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    message_id: Mapped[str] = mapped_column(ForeignKey("webhook_messages.id", ondelete="CASCADE"))
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(Stamp)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(Stamp)
    created_at: Mapped[datetime] = mapped_column(Stamp)
    finished_at: Mapped[datetime | None] = mapped_column(Stamp)


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(Stamp)
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    # The first kilobyte of the response, as text.
    response: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(String(500))


class EventFeedCursor(Base):
    """How far a reader of the event log (the webhooks' fan-out) has got, in (txid, id) order."""

    __tablename__ = "event_feed_cursors"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    txid: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[int] = mapped_column(BigInteger)


class StatusPage(Base):
    """A tenant's public status page: nothing of it is shown until it is published."""

    __tablename__ = "status_pages"
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(Stamp)


class StatusComponent(Base):
    __tablename__ = "status_components"
    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    status: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(Stamp)
    updated_at: Mapped[datetime] = mapped_column(Stamp)


class StatusIncident(Base):
    """An incident, or (kind "maintenance") a scheduled maintenance."""

    __tablename__ = "status_incidents"
    __table_args__ = (Index("ix_status_incidents_tenant_created", "tenant_id", "created_at"),)
    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32))
    impact: Mapped[str] = mapped_column(String(16))
    component_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    scheduled_for: Mapped[datetime | None] = mapped_column(Stamp)
    scheduled_until: Mapped[datetime | None] = mapped_column(Stamp)
    created_at: Mapped[datetime] = mapped_column(Stamp)
    updated_at: Mapped[datetime] = mapped_column(Stamp)
    started_at: Mapped[datetime | None] = mapped_column(Stamp)
    monitoring_at: Mapped[datetime | None] = mapped_column(Stamp)
    resolved_at: Mapped[datetime | None] = mapped_column(Stamp)


class StatusIncidentUpdate(Base):
    __tablename__ = "status_incident_updates"
    __table_args__ = (Index("ix_status_incident_updates_incident", "incident_id", "created_at"),)
    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("status_incidents.id", ondelete="CASCADE"))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    status: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    # Statuspage's affected_components: [{"code", "name", "old_status", "new_status"}]
    affected_components: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(Stamp)


class ConsoleSession(Base):
    """A console sign-in. The cookie's value is never stored, only its SHA-256."""

    __tablename__ = "console_sessions"
    digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    credential_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(Stamp)
    expires_at: Mapped[datetime] = mapped_column(Stamp, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(Stamp)
