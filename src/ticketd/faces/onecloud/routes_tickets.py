"""OneCloud tickets ("tiket"): get, find, create, remove, and a ticket's conversation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from ticketd.core import attachments, tickets
from ticketd.core.attachments import IncomingFile
from ticketd.core.identity import users_by_id
from ticketd.core.ids import MAX_ID
from ticketd.core.paging import page_of_query
from ticketd.core.principal import Principal
from ticketd.core.sla import ticket_sla
from ticketd.faces.onecloud.codes import category_name
from ticketd.faces.onecloud.deps import Caller, Db, fields_of, services_of, ticket_id_of
from ticketd.faces.onecloud.errors import error_body, error_response
from ticketd.faces.onecloud.paths import ATTACHMENT_PATH, CREATE_PATH, MAX_CREATE_FILES
from ticketd.faces.onecloud.records import RecordFormat
from ticketd.faces.onecloud.views import json_response
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import Ticket
from ticketd.web.attachment_downloads import DOWNLOAD_RESPONSES, Download, download_response
from ticketd.web.attachment_uploads import form_files, is_form

router = APIRouter()
CREATE_REQUIRED = ("fullName", "contact", "subject", "category", "content")
FILE_FIELDS = ("attachment", "file")
MAX_LIMIT = 100


def records_of(request: Request) -> RecordFormat:
    records: RecordFormat = request.app.state.records
    return records


@router.get("/api/ticketrz/{ticket_id}", summary="Tiket - Get")
def get_ticket(ticket_id: str, request: Request, caller: Caller, db: Db) -> Response:
    ticket = tickets.get_ticket(db, caller, ticket_id_of(ticket_id))
    people = users_by_id(db, {ticket.requester_id, *ticket.assignee_ids})
    comments = tickets.count_comments(db, caller, ticket)
    usernames = {uid: user.username for uid, user in people.items()}
    record = records_of(request).record(
        ticket,
        usernames=usernames,
        comment_count=comments,
        sla=ticket_sla(db, ticket),
        files=attachments.list_for_ticket(db, caller, ticket.id),
    )
    return json_response(record)


@router.get("/api/ticketrz", summary="Tiket - Find")
def find_tickets(
    request: Request,
    caller: Caller,
    db: Db,
    since_id: Annotated[int, Query(alias="sinceId", ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    query = (
        select(Ticket).where(*tickets.visible_conditions(caller), Ticket.id > since_id).order_by(Ticket.id)
    )
    page = page_of_query(db, query, offset=offset, limit=limit)
    people = users_by_id(
        db, {t.requester_id for t in page.items} | {a for t in page.items for a in t.assignee_ids}
    )
    names = {uid: user.display_name for uid, user in people.items()}
    usernames = {uid: user.username for uid, user in people.items()}
    records = records_of(request)
    files = attachments.for_tickets(db, caller, [t.id for t in page.items])
    data = [
        records.summary(t, names=names, usernames=usernames, files=files.get(t.id, ())) for t in page.items
    ]
    return json_response(
        {"limit": str(limit), "offset": offset, "count": len(data), "total": page.total, "data": data}
    )


def _create_body() -> dict[str, Any]:
    text = {"type": "string"}
    properties: dict[str, Any] = {name: text for name in (*CREATE_REQUIRED, "coordinate")}
    form = {
        "type": "object",
        "required": list(CREATE_REQUIRED),
        "properties": {
            **properties,
            **{
                name: {
                    "type": "array",
                    "items": {"type": "string", "format": "binary"},
                    "maxItems": MAX_CREATE_FILES,
                }
                for name in FILE_FIELDS
            },
        },
    }
    plain = {"type": "object", "required": list(CREATE_REQUIRED), "properties": properties}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {"schema": form},
                "application/x-www-form-urlencoded": {"schema": plain},
                "application/json": {"schema": plain},
            },
        }
    }


@router.post(
    CREATE_PATH,
    summary="Tiket - Create",
    description="Files come in the form's `attachment` and `file` fields (multipart/form-data).",
    openapi_extra=_create_body(),
)
async def create_ticket(request: Request, caller: Caller) -> Response:
    services = services_of(request)
    if is_form(request):
        # Files come as the vendor's form sends them, in `attachment` and `file` (several of each
        # may come); they are spooled to disk as they arrive, never held whole.
        limits = attachments.Limits.of(services.settings)
        async with form_files(request, limits.max_bytes, FILE_FIELDS, MAX_CREATE_FILES) as (files, form):
            fields = {key: value for key, value in form.items() if isinstance(value, str)}
            return await _create(request, caller, fields, files)
    return await _create(request, caller, await fields_of(request), [])


async def _create(
    request: Request, caller: Principal, fields: dict[str, str], files: list[IncomingFile]
) -> Response:
    missing = [name for name in CREATE_REQUIRED if not fields.get(name, "").strip()]
    if missing:
        return error_response(400, error_body(400, f"{', '.join(missing)} required"))
    services = services_of(request)

    def create() -> str:
        with unit_of_work(services.sessions, write=True) as db:
            custom = {"fullName": fields["fullName"]}
            if fields.get("coordinate"):
                custom["coordinate"] = fields["coordinate"]
            changes = tickets.Changes(
                values={
                    "subject": fields["subject"],
                    "content": fields["content"],
                    "category": category_name(fields["category"]),
                    "contact": fields["contact"],
                    "custom_fields": custom,
                    **({} if caller.is_customer else {"channel": "web"}),
                }
            )
            ticket = tickets.create_ticket(db, caller, changes)
            limits = attachments.Limits.of(services.settings)
            for file in files:
                attachments.add(db, caller, file, limits, ticket_id=ticket.id)
            db.commit()
            return str(ticket.id)

    ticket_id = await run_in_threadpool(create)
    return json_response({"response_code": "200", "response_status": "Success", "ticketId": ticket_id})


@router.delete("/api/ticketrz/{ticket_id}", summary="Tiket - Remove")
def remove_ticket(ticket_id: str, caller: Caller, db: Db) -> Response:
    tickets.delete_ticket(db, caller, ticket_id_of(ticket_id))
    db.commit()
    return json_response({})


@router.get("/api/ticket/conversations/{ticket_id}", summary="Tiket - Conversations")
def conversations(ticket_id: str, request: Request, caller: Caller, db: Db) -> Response:
    comments = tickets.list_comments(db, caller, ticket_id_of(ticket_id))
    names = {uid: user.display_name for uid, user in users_by_id(db, {c.author_id for c in comments}).items()}
    records = records_of(request)
    data = [records.message(c, names=names) for c in comments]
    return json_response(
        {
            "response_code": "200",
            "response_status": "Success",
            "type": "message",
            "ticketId": ticket_id,
            "data": data,
        }
    )


@router.get(
    f"{ATTACHMENT_PATH}/{{attachment_id}}",
    summary="Tiket - Attachment (the file of a record's Attachments)",
    responses=DOWNLOAD_RESPONSES,
)
def attachment_file(attachment_id: str, request: Request, caller: Caller, db: Db) -> Response:
    attachment = attachments.get(db, caller, ticket_id_of(attachment_id))

    def refuse(status: int, detail: str) -> Response:
        return error_response(status, error_body(status, detail))

    return download_response(request, services_of(request).sessions, Download.of(attachment), refuse)
