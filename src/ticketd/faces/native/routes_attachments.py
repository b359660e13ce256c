"""Files on tickets: upload (the body itself, or a browser form's `file` field), list, describe,
download (ranges, ETag), remove."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import TypeAdapter

from ticketd.core import attachments
from ticketd.core.attachments import IncomingFile
from ticketd.core.ids import MAX_ID
from ticketd.core.principal import Principal
from ticketd.faces.native.deps import ReadDb, Reader, ServicesDep, WriteDb, Writer
from ticketd.faces.native.errors import problem_response
from ticketd.faces.native.paths import PREFIX
from ticketd.faces.native.responses import PROBLEM_RESPONSES, json_list_response, json_response
from ticketd.faces.native.routes_tickets import TicketId
from ticketd.faces.native.schemas import AttachmentOut
from ticketd.faces.native.views import attachment_out
from ticketd.store.engine import unit_of_work
from ticketd.web.attachment_downloads import DOWNLOAD_RESPONSES, Download, download_response
from ticketd.web.attachment_uploads import body_file, form_file, is_form
from ticketd.web.problems import problem
from ticketd.web.services import Services

router = APIRouter(tags=["attachments"], responses=PROBLEM_RESPONSES)

AttachmentId = Annotated[int, Path(ge=1, le=MAX_ID, description="The attachment's id.")]
ATTACHMENTS = TypeAdapter(list[AttachmentOut])
UPLOAD_PATH = rf"{PREFIX}(/tickets/\d+)?/attachments"
UPLOAD_BODY: dict[str, Any] = {
    "parameters": [
        {
            "name": "Content-Disposition",
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": 'attachment; filename="report.pdf" (RFC 6266; filename* for any name)',
        }
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
        },
    },
}


@router.post(
    "/tickets/{ticket_id}/attachments",
    status_code=201,
    response_model=AttachmentOut,
    summary="Attach a file to a ticket",
    description=(
        "The body is the file, its type in Content-Type and its name in Content-Disposition "
        '(`attachment; filename="..."`), or a multipart/form-data form with a `file` field. '
        "The stored type is decided from the bytes. At most TICKETD_MAX_ATTACHMENT_BYTES (413 past it), "
        "TICKETD_MAX_ATTACHMENTS_PER_TICKET files a ticket (409), and the tenant's storage quota (507)."
    ),
    openapi_extra=UPLOAD_BODY,
)
async def upload(ticket_id: TicketId, request: Request, principal: Writer, services: ServicesDep) -> Response:
    return await _upload(request, principal, services, ticket_id)


@router.post(
    "/attachments",
    status_code=201,
    response_model=AttachmentOut,
    summary="Upload a file ahead of the comment that will carry it",
    description=(
        "As POST /tickets/{id}/attachments, but on no ticket yet: only its uploader sees it until a comment "
        "names it in `attachment_ids` (an internal note's files go this way, so its requester never sees "
        "them). Files nothing claims are removed after TICKETD_UNCLAIMED_ATTACHMENT_HOURS."
    ),
    openapi_extra=UPLOAD_BODY,
)
async def upload_ahead(request: Request, principal: Writer, services: ServicesDep) -> Response:
    return await _upload(request, principal, services, None)


@router.get(
    "/tickets/{ticket_id}/attachments",
    response_model=list[AttachmentOut],
    summary="A ticket's files (a customer sees those of the ticket and of public comments)",
)
def list_attachments(ticket_id: TicketId, principal: Reader, db: ReadDb) -> Response:
    files = attachments.list_for_ticket(db, principal, ticket_id)
    return json_list_response(ATTACHMENTS, [attachment_out(file) for file in files])


@router.get("/attachments/{attachment_id}", response_model=AttachmentOut, summary="A file's description")
def get_attachment(attachment_id: AttachmentId, principal: Reader, db: ReadDb) -> Response:
    return json_response(attachment_out(attachments.get(db, principal, attachment_id)))


@router.get(
    "/attachments/{attachment_id}/content",
    summary="A file's bytes (Range for part of them, If-None-Match to revalidate)",
    responses=DOWNLOAD_RESPONSES,
)
def get_content(
    attachment_id: AttachmentId, request: Request, principal: Reader, db: ReadDb, services: ServicesDep
) -> Response:
    download = Download.of(attachments.get(db, principal, attachment_id))

    def refuse(status: int, detail: str) -> Response:
        return problem_response(status, problem(status, detail, instance=request.url.path))

    return download_response(request, services.sessions, download, refuse)


@router.delete("/attachments/{attachment_id}", status_code=204, summary="Remove a file (staff)")
def delete_attachment(attachment_id: AttachmentId, principal: Writer, db: WriteDb) -> Response:
    attachments.remove(db, principal, attachment_id)
    db.commit()
    return Response(status_code=204)


async def _upload(
    request: Request, principal: Principal, services: Services, ticket_id: int | None
) -> Response:
    limits = attachments.Limits.of(services.settings)

    def store(file: IncomingFile) -> AttachmentOut:
        # Into the store in parts, in one transaction, off the event loop.
        with unit_of_work(services.sessions, write=True) as db:
            attachment = attachments.add(db, principal, file, limits, ticket_id=ticket_id)
            out = attachment_out(attachment)
            db.commit()
            return out

    if is_form(request):
        async with form_file(request, limits.max_bytes) as (file, _):
            out = await run_in_threadpool(store, file)
    else:
        async with body_file(request, limits.max_bytes) as file:
            out = await run_in_threadpool(store, file)
    location = str(request.url_for("get_attachment", attachment_id=out.id))
    return json_response(out, status=201, headers={"Location": location})
