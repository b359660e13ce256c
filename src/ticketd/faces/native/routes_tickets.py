"""Tickets: create, read, list, change, transitions, comments, history, status."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import Response
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from ticketd.core import attachments, tickets
from ticketd.core.clock import as_utc
from ticketd.core.etags import none_match
from ticketd.core.ids import MAX_ID
from ticketd.core.lifecycle import Status
from ticketd.faces.native.deps import ReadDb, Reader, ServicesDep, WriteDb, Writer
from ticketd.faces.native.responses import (
    PROBLEM_RESPONSES,
    json_list_response,
    json_response,
    not_modified,
)
from ticketd.faces.native.schemas import (
    CommentIn,
    CommentOut,
    EventOut,
    StatusName,
    TicketCreate,
    TicketOut,
    TicketPage,
    TicketPatch,
    TransitionIn,
)
from ticketd.faces.native.views import comment_out, event_out, ticket_out, ticket_with_sla

router = APIRouter(prefix="/tickets", tags=["tickets"], responses=PROBLEM_RESPONSES)

TicketId = Annotated[int, Path(ge=1, le=MAX_ID, description="The ticket's id.")]
COMMENTS = TypeAdapter(list[CommentOut])
EVENTS = TypeAdapter(list[EventOut])
PEOPLE_AND_TAGS = ("requester_id", "assignee_ids", "tags")


def _committed(db: Session, response: Response) -> Response:
    """Commits once the answer is built: a row that could not be shown is never committed."""
    db.commit()
    return response


def _changes(fields: dict[str, Any]) -> tickets.Changes:
    return tickets.Changes(
        values={k: v for k, v in fields.items() if k not in PEOPLE_AND_TAGS},
        requester_id=fields.get("requester_id"),
        assignee_ids=fields.get("assignee_ids"),
        tags=fields.get("tags"),
    )


@router.post("", status_code=201, response_model=TicketOut, summary="Create a ticket")
def create_ticket(body: TicketCreate, request: Request, principal: Writer, db: WriteDb) -> Response:
    fields = body.model_dump(exclude_unset=True)
    ticket = tickets.create_ticket(db, principal, _changes(fields))
    # The answer is built before the commit: a row that could not be shown is never committed.
    response = json_response(
        ticket_out(ticket),
        status=201,
        etag=tickets.etag_of(ticket),
        headers={"Location": str(request.url_for("get_ticket", ticket_id=ticket.id))},
    )
    db.commit()
    return response


@router.get("", response_model=TicketPage, summary="List tickets")
def list_tickets(
    principal: Reader,
    db: ReadDb,
    status: Annotated[list[StatusName] | None, Query(description="Repeat for several.")] = None,
    assignee: Annotated[int | None, Query(ge=1, le=MAX_ID, description="An assignee's user id.")] = None,
    requester: Annotated[int | None, Query(ge=1, le=MAX_ID, description="The requester's user id.")] = None,
    tag: Annotated[str | None, Query(max_length=100)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in subject or content.")] = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    updated_after: datetime | None = None,
    updated_before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    filters = tickets.TicketFilter(
        status=[Status(s) for s in status or []],
        assignee_id=assignee,
        requester_id=requester,
        tag=tag,
        text=q,
        created_from=as_utc(created_after),
        created_to=as_utc(created_before),
        updated_from=as_utc(updated_after),
        updated_to=as_utc(updated_before),
    )
    page = tickets.list_tickets(db, principal, filters, limit=limit, cursor=cursor)
    body = TicketPage(
        items=[ticket_out(t) for t in page.items], total=page.total, limit=limit, next_cursor=page.next_cursor
    )
    return json_response(body)


@router.get("/{ticket_id}", response_model=TicketOut, summary="Get a ticket")
def get_ticket(
    ticket_id: TicketId,
    principal: Reader,
    db: ReadDb,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    ticket = tickets.get_ticket(db, principal, ticket_id)
    etag = tickets.etag_of(ticket)
    if none_match(if_none_match, etag):
        return not_modified(etag)
    return json_response(ticket_with_sla(db, ticket), etag=etag)


@router.patch(
    "/{ticket_id}",
    response_model=TicketOut,
    summary="Change a ticket",
    description="A JSON merge patch. With `If-Match`, a ticket changed since it was read answers 412.",
    responses={412: PROBLEM_RESPONSES[422] | {"description": "The ticket has changed (If-Match)"}},
)
def patch_ticket(
    ticket_id: TicketId,
    body: TicketPatch,
    principal: Writer,
    db: WriteDb,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    fields = body.model_dump(exclude_unset=True)
    status = fields.pop("status", None)
    ticket = tickets.update_ticket(
        db,
        principal,
        ticket_id,
        _changes(fields),
        if_match=if_match,
        status=Status(status) if status else None,
    )
    return _committed(db, json_response(ticket_out(ticket), etag=tickets.etag_of(ticket)))


@router.post("/{ticket_id}/transitions", response_model=TicketOut, summary="Move a ticket to another status")
def post_transition(ticket_id: TicketId, body: TransitionIn, principal: Writer, db: WriteDb) -> Response:
    ticket = tickets.transition(db, principal, ticket_id, body.target)
    return _committed(db, json_response(ticket_out(ticket), etag=tickets.etag_of(ticket)))


@router.post(
    "/{ticket_id}/reopen",
    response_model=TicketOut,
    summary="Reopen a solved, closed, canceled or invalid ticket",
)
def post_reopen(ticket_id: TicketId, principal: Writer, db: WriteDb) -> Response:
    ticket = tickets.transition(db, principal, ticket_id, Status.OPEN, reopen=True)
    return _committed(db, json_response(ticket_out(ticket), etag=tickets.etag_of(ticket)))


@router.get(
    "/{ticket_id}/comments", response_model=list[CommentOut], summary="List comments, with their files"
)
def get_comments(ticket_id: TicketId, principal: Reader, db: ReadDb) -> Response:
    comments = tickets.list_comments(db, principal, ticket_id)
    files = attachments.by_comment(attachments.list_for_ticket(db, principal, ticket_id))
    return json_list_response(COMMENTS, [comment_out(c, files.get(c.id, ())) for c in comments])


@router.post(
    "/{ticket_id}/comments",
    status_code=201,
    response_model=CommentOut,
    summary="Add a comment, optionally carrying files uploaded to the ticket",
)
def post_comment(
    ticket_id: TicketId, body: CommentIn, principal: Writer, db: WriteDb, services: ServicesDep
) -> Response:
    comment = tickets.add_comment(db, principal, ticket_id, body=body.body, public=body.public)
    ticket = tickets.get_ticket(db, principal, ticket_id)
    files = attachments.claim(
        db, principal, ticket, body.attachment_ids, attachments.Limits.of(services.settings), comment=comment
    )
    return _committed(db, json_response(comment_out(comment, files), status=201))


@router.get("/{ticket_id}/events", response_model=list[EventOut], summary="The ticket's history")
def get_events(ticket_id: TicketId, principal: Reader, db: ReadDb) -> Response:
    return json_list_response(EVENTS, [event_out(e) for e in tickets.list_events(db, principal, ticket_id)])
