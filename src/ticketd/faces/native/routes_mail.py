"""Mail: a tenant's mail channels (admins), and raw messages posted by a mail server
(`message/rfc822`, with a key of scope `mail:inbound`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from ticketd.core.errors import Forbidden, TooLarge
from ticketd.core.ids import MAX_ID
from ticketd.core.lifecycle import Status
from ticketd.core.mail import channels, log, templates
from ticketd.core.mail.channels import (
    AfterFetch,
    ChannelSettings,
    ImapSecurity,
    ImapSettings,
    OnClosed,
    UnknownSenders,
)
from ticketd.core.mail.inbound import HEAD_BYTES, MailLimits, Outcome, take, take_oversized
from ticketd.core.principal import Principal, Scope
from ticketd.faces.native.deps import Admin, ServicesDep, WriteDb, admitted_principal
from ticketd.faces.native.paths import PREFIX
from ticketd.faces.native.responses import PROBLEM_RESPONSES, json_list_response, json_response
from ticketd.faces.native.schemas import StatusName
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import MailChannel, Tenant

router = APIRouter(tags=["mail"], responses=PROBLEM_RESPONSES)
ChannelId = Annotated[int, Path(ge=1, le=MAX_ID, description="The channel's id.")]
INBOUND_PATH = f"{PREFIX}/mail/inbound"
# A message past the limit is still read to its end (to record why it was refused), up to this.
READ_AT_MOST_TIMES = 4


class ImapIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = Field(min_length=1, max_length=255)
    port: int | None = Field(default=None, ge=1, le=65535)
    security: Literal["tls", "starttls", "plain"] = Field(
        default="tls", description="tls from the start, starttls, or plain (a server on this host only)"
    )
    user: str = Field(min_length=1, max_length=320)
    password: str = Field(
        min_length=1, max_length=1000, description="Sealed under the server's key; never shown."
    )
    folder: str = Field(default="INBOX", min_length=1, max_length=255)
    after: Literal["seen", "move"] = Field(default="seen", description="Mark fetched mail seen, or move it.")
    move_to: str | None = Field(default=None, max_length=255)
    interval_seconds: int = Field(
        default=60, ge=5, le=3600, description="How often to look when the server has no IDLE."
    )


class ImapOut(BaseModel):
    host: str
    port: int
    security: str
    user: str
    folder: str
    after: str
    move_to: str | None
    interval_seconds: int
    last_uid: int
    checked_at: datetime | None
    error: str | None


def _solved_only() -> list[StatusName]:
    return ["solved"]


class ChannelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str = Field(min_length=3, max_length=320, description="The address customers write to.")
    unknown_senders: Literal["create", "refuse"] = Field(
        default="create",
        description="create: unknown senders become customers; refuse: their mail is recorded only",
    )
    acknowledge: bool = Field(default=True, description="Acknowledge new tickets by mail (with mail out).")
    on_closed: Literal["reopen", "new"] = Field(
        default="reopen", description="A reply to a closed ticket reopens it, or starts a new one."
    )
    imap: ImapIn | None = Field(default=None, description="A mailbox to fetch the channel's mail from.")
    announce: list[StatusName] = Field(
        default_factory=_solved_only,
        max_length=10,
        description="Status changes announced to requesters.",
    )


class ChannelPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unknown_senders: Literal["create", "refuse"] | None = None
    acknowledge: bool | None = None
    on_closed: Literal["reopen", "new"] | None = None
    imap: ImapIn | None = Field(default=None, description="Set, the mailbox; explicitly null, none.")
    announce: list[StatusName] | None = Field(default=None, max_length=10)


class ChannelOut(BaseModel):
    id: int
    address: str
    unknown_senders: str
    acknowledge: bool
    on_closed: str
    announce: list[str]
    imap: ImapOut | None


class InboundOut(BaseModel):
    message_id: str
    action: Literal["created", "commented", "ignored", "refused", "bounce"]
    ticket_id: int | None
    reason: str | None


class MailRecordOut(BaseModel):
    id: int
    direction: Literal["in", "out"]
    message_id: str
    channel_id: int | None
    ticket_id: int | None
    sender: str
    subject: str
    action: str = Field(description="In: created, commented, ignored, refused, bounce. Out: queued.")
    reason: str | None
    automatic: bool
    created_at: datetime
    # Out: where sending has got to.
    status: str | None = Field(default=None, description="Out: pending, sent or failed.")
    attempts: int | None = None
    last_error: str | None = None
    sent_at: datetime | None = None


CHANNELS = TypeAdapter(list[ChannelOut])
RECORDS = TypeAdapter(list[MailRecordOut])


def mail_server(principal: Annotated[Principal, Depends(admitted_principal)]) -> Principal:
    if not principal.has_scope(Scope.MAIL_INBOUND):
        raise Forbidden("the credential lacks the mail:inbound scope")
    return principal


MailServer = Annotated[Principal, Depends(mail_server)]


@router.post("/channels/email", status_code=201, response_model=ChannelOut, summary="Add a mail channel")
def create_channel(body: ChannelIn, principal: Admin, db: WriteDb, services: ServicesDep) -> Response:
    channel = channels.create(db, principal, body.address, _settings(body))
    if body.imap is not None:
        channels.set_imap(db, principal, channel.id, _imap(body.imap), services.sealer())
    out = _out(channel)
    db.commit()
    return json_response(out, status=201)


@router.get("/channels/email", response_model=list[ChannelOut], summary="The tenant's mail channels")
def list_channels(principal: Admin, db: WriteDb) -> Response:
    return json_list_response(CHANNELS, [_out(channel) for channel in channels.list_channels(db, principal)])


@router.get("/channels/email/{channel_id}", response_model=ChannelOut, summary="A mail channel")
def get_channel(channel_id: ChannelId, principal: Admin, db: WriteDb) -> Response:
    return json_response(_out(channels.get(db, principal, channel_id)))


@router.patch("/channels/email/{channel_id}", response_model=ChannelOut, summary="Change a mail channel")
def update_channel(
    channel_id: ChannelId, body: ChannelPatch, principal: Admin, db: WriteDb, services: ServicesDep
) -> Response:
    channel = channels.update(db, principal, channel_id, _settings(body))
    if "imap" in body.model_fields_set:
        imap = _imap(body.imap) if body.imap is not None else None
        channel = channels.set_imap(db, principal, channel_id, imap, services.sealer())
    out = _out(channel)
    db.commit()
    return json_response(out)


@router.delete("/channels/email/{channel_id}", status_code=204, summary="Remove a mail channel")
def delete_channel(channel_id: ChannelId, principal: Admin, db: WriteDb) -> Response:
    channels.delete(db, principal, channel_id)
    db.commit()
    return Response(status_code=204)


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: str = Field(min_length=1, max_length=500)
    text: str = Field(min_length=1, max_length=50_000)
    html: str = Field(min_length=1, max_length=100_000)


class TemplateOut(TemplateIn):
    kind: str
    own: bool = Field(description="The tenant's own wording (false: the default).")
    fields: list[str] = Field(description="What the template may use: {{ ticket_id }}, {{ subject }}, ...")


TEMPLATES = TypeAdapter(list[TemplateOut])
TemplateKind = Annotated[str, Path(pattern="^(" + "|".join(templates.KINDS) + ")$")]


@router.get(
    "/mail/templates", response_model=list[TemplateOut], summary="The wording of each kind of mail out"
)
def list_templates(principal: Admin, db: WriteDb) -> Response:
    return json_list_response(
        TEMPLATES, [_template_out(templates.wording(db, principal.tenant_id, k)) for k in templates.KINDS]
    )


@router.put(
    "/mail/templates/{kind}", response_model=TemplateOut, summary="The tenant's own wording of a kind"
)
def put_template(kind: TemplateKind, body: TemplateIn, principal: Admin, db: WriteDb) -> Response:
    saved = templates.save(db, principal, kind, body.subject, body.text, body.html)
    db.commit()
    return json_response(_template_out(saved))


@router.delete("/mail/templates/{kind}", status_code=204, summary="Back to the default wording")
def delete_template(kind: TemplateKind, principal: Admin, db: WriteDb) -> Response:
    templates.reset(db, principal, kind)
    db.commit()
    return Response(status_code=204)


def _template_out(wording: templates.Wording) -> TemplateOut:
    return TemplateOut(
        kind=wording.kind,
        subject=wording.subject,
        text=wording.text,
        html=wording.html,
        own=wording.own,
        fields=list(templates.SAMPLE),
    )


@router.get(
    "/mail/messages",
    response_model=list[MailRecordOut],
    summary="Mail taken in and sent, newest first, with what became of each (admins)",
)
def mail_messages(
    principal: Admin,
    db: WriteDb,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Older than this record's id.")] = None,
) -> Response:
    records = [
        MailRecordOut(
            id=record.message.id,
            direction="out" if record.message.direction == "out" else "in",
            message_id=record.message.message_id,
            channel_id=record.message.channel_id,
            ticket_id=record.message.ticket_id,
            sender=record.message.sender,
            subject=record.message.subject,
            action=record.message.action,
            reason=record.message.reason,
            automatic=record.message.automatic,
            created_at=record.message.created_at,
            status=record.sending.status if record.sending else None,
            attempts=record.sending.attempts if record.sending else None,
            last_error=record.sending.last_error if record.sending else None,
            sent_at=record.sending.sent_at if record.sending else None,
        )
        for record in log.records(db, principal, limit=limit, before=before)
    ]
    return json_list_response(RECORDS, records)


@router.post(
    "/mail/inbound",
    status_code=202,
    response_model=InboundOut,
    summary="A raw message from a mail server: a new ticket, a comment, or recorded and ignored",
    description=(
        "The body is the message as received (message/rfc822). The channel is chosen by its recipients. "
        "The same Message-ID is taken once. A message over TICKETD_MAX_MAIL_BYTES is recorded as refused."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def inbound(request: Request, principal: MailServer, services: ServicesDep) -> Response:
    limits = MailLimits.of(services.settings)
    kept: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.max_bytes * READ_AT_MOST_TIMES:
            raise TooLarge(f"the message exceeds {limits.max_bytes * READ_AT_MOST_TIMES} bytes")
        if size <= limits.max_bytes:
            kept.append(chunk)
        elif kept:
            # Too large to take: keep its head for the record, drop the rest as it comes.
            kept = [b"".join(kept)[:HEAD_BYTES]]
    raw = b"".join(kept)

    def deliver() -> Outcome:
        with unit_of_work(services.sessions, write=True) as db:
            tenant = db.get(Tenant, principal.tenant_id)
            assert tenant is not None
            if size > limits.max_bytes:
                outcome = take_oversized(db, tenant, raw[:HEAD_BYTES], size, limits)
            else:
                outcome = take(db, tenant, raw, limits)
            db.commit()
            return outcome

    outcome = await run_in_threadpool(deliver)
    body = InboundOut(
        message_id=outcome.message_id,
        action=outcome.action,
        ticket_id=outcome.ticket_id,
        reason=outcome.reason,
    )
    return json_response(body, status=202)


def _settings(body: ChannelIn | ChannelPatch) -> ChannelSettings:
    return ChannelSettings(
        unknown_senders=UnknownSenders(body.unknown_senders) if body.unknown_senders else None,
        acknowledge=body.acknowledge,
        on_closed=OnClosed(body.on_closed) if body.on_closed else None,
        announce=tuple(Status(name) for name in body.announce) if body.announce is not None else None,
    )


def _imap(body: ImapIn) -> ImapSettings:
    return ImapSettings(
        host=body.host,
        port=body.port,
        security=ImapSecurity(body.security),
        user=body.user,
        password=body.password,
        folder=body.folder,
        after=AfterFetch(body.after),
        move_to=body.move_to,
        interval_seconds=body.interval_seconds,
    )


def _out(channel: MailChannel) -> ChannelOut:
    imap = None
    if channel.imap_host and channel.imap_user and channel.imap_port:
        imap = ImapOut(
            host=channel.imap_host,
            port=channel.imap_port,
            security=channel.imap_security or "tls",
            user=channel.imap_user,
            folder=channel.imap_folder,
            after=channel.imap_after,
            move_to=channel.imap_move_to,
            interval_seconds=channel.imap_interval_seconds,
            last_uid=channel.imap_last_uid,
            checked_at=channel.imap_checked_at,
            error=channel.imap_error,
        )
    return ChannelOut(
        id=channel.id,
        address=channel.address,
        unknown_senders=channel.unknown_senders,
        acknowledge=channel.acknowledge,
        on_closed=channel.on_closed,
        announce=list(channel.announce),
        imap=imap,
    )
