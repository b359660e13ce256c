"""The admins' mail page: the tenant's mail channels (with their mailboxes), the wording of mail out,
and the record of mail in and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from ticketd.core.errors import FieldError, InvalidInput
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
from ticketd.faces.console.pages import redirect, render
from ticketd.faces.console.paths import PREFIX
from ticketd.faces.console.visitors import AdminDep, FormDep, services_of, text
from ticketd.store.engine import unit_of_work

router = APIRouter(prefix="/admin/mail", include_in_schema=False)
ChannelId = Annotated[int, Path(ge=1, le=MAX_ID)]
Kind = Annotated[str, Path(pattern="^(" + "|".join(templates.KINDS) + ")$")]
RECENT = 50
PAGE = f"{PREFIX}/admin/mail"


@router.get("")
def mail_page(visitor: AdminDep, request: Request) -> Response:
    with unit_of_work(services_of(request).sessions, write=False) as db:
        principal = visitor.principal
        return render(
            "admin_mail.html",
            visitor,
            current="admin/mail",
            channels=channels.list_channels(db, principal),
            wordings=[templates.wording(db, principal.tenant_id, kind) for kind in templates.KINDS],
            fields=list(templates.SAMPLE),
            records=log.records(db, principal, limit=RECENT),
            statuses=[status.value for status in Status if status is not Status.NEW],
        )


@router.post("/channels")
def add_channel(visitor: AdminDep, form: FormDep, request: Request) -> Response:
    with unit_of_work(services_of(request).sessions, write=True) as db:
        channel = channels.create(db, visitor.principal, text(form, "address"), _settings(form))
        if text(form, "imap_host"):
            channels.set_imap(db, visitor.principal, channel.id, _imap(form), services_of(request).sealer())
        db.commit()
    return redirect(PAGE)


@router.post("/channels/{channel_id}")
def change_channel(visitor: AdminDep, channel_id: ChannelId, form: FormDep, request: Request) -> Response:
    with unit_of_work(services_of(request).sessions, write=True) as db:
        channels.update(db, visitor.principal, channel_id, _settings(form))
        db.commit()
    return redirect(PAGE)


@router.post("/channels/{channel_id}/remove")
def remove_channel(visitor: AdminDep, channel_id: ChannelId, form: FormDep, request: Request) -> Response:
    with unit_of_work(services_of(request).sessions, write=True) as db:
        channels.delete(db, visitor.principal, channel_id)
        db.commit()
    return redirect(PAGE)


@router.post("/templates/{kind}")
def save_template(visitor: AdminDep, kind: Kind, form: FormDep, request: Request) -> Response:
    with unit_of_work(services_of(request).sessions, write=True) as db:
        if text(form, "reset"):
            templates.reset(db, visitor.principal, kind)
        else:
            templates.save(
                db, visitor.principal, kind, text(form, "subject"), text(form, "text"), text(form, "html")
            )
        db.commit()
    return redirect(f"{PAGE}#template-{kind}")


def _settings(form: FormData) -> ChannelSettings:
    announce = [value for value in form.getlist("announce") if isinstance(value, str)]
    try:
        return ChannelSettings(
            unknown_senders=UnknownSenders(text(form, "unknown_senders", "create")),
            acknowledge=text(form, "acknowledge") == "on",
            on_closed=OnClosed(text(form, "on_closed", "reopen")),
            announce=tuple(Status(value) for value in announce),
        )
    except ValueError as exc:
        raise InvalidInput("a setting has no such value", [FieldError("/channel", str(exc))]) from exc


def _imap(form: FormData) -> ImapSettings:
    port = text(form, "imap_port")
    try:
        return ImapSettings(
            host=text(form, "imap_host"),
            port=int(port) if port else None,
            security=ImapSecurity(text(form, "imap_security", "tls")),
            user=text(form, "imap_user"),
            password=text(form, "imap_password"),
            folder=text(form, "imap_folder", "INBOX") or "INBOX",
            after=AfterFetch(text(form, "imap_after", "seen")),
            move_to=text(form, "imap_move_to") or None,
        )
    except ValueError as exc:
        raise InvalidInput("the mailbox's settings are not valid", [FieldError("/imap", str(exc))]) from exc
