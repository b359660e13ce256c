"""Tickets in the console: the agents' queue (counts by status, filters, paging, over the API's
listing rules), a ticket's page (fields, SLA figures, the timeline from the event log, comments,
the transitions the lifecycle allows, assignees, tags, priority), the customers' portal, and the
live feed the pages follow to update when someone else changes a ticket."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from ticketd.core import attachments, identity, sla, tickets
from ticketd.core.errors import FieldError, InvalidInput
from ticketd.core.event_stream import StreamFilter
from ticketd.core.events import EventKind
from ticketd.core.ids import MAX_ID
from ticketd.core.lifecycle import ALLOWED_TRANSITIONS, REOPENABLE, Status
from ticketd.core.media_types import shown_inline
from ticketd.core.principal import Principal
from ticketd.core.vocabulary import Priority
from ticketd.faces.console.errors import error_response
from ticketd.faces.console.pages import redirect, render
from ticketd.faces.console.paths import FILES_PATH, MAX_FILES_A_FORM, PREFIX
from ticketd.faces.console.visitors import (
    FormDep,
    StaffDep,
    Visitor,
    VisitorDep,
    services_of,
    session_stands,
    text,
)
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import Attachment, Ticket, TicketEvent, User
from ticketd.web.attachment_downloads import Download, download_response
from ticketd.web.attachment_uploads import files_in
from ticketd.web.event_frames import StreamCaller, event_stream_response
from ticketd.web.services import Services

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25
# Counts by status are exact up to this and shown as "10,000+" beyond: counting a million tickets
# for a badge would cost more than the rest of the page (as large trackers do).
COUNT_CAP = 10_000
TicketId = Annotated[int, Path(ge=1, le=MAX_ID)]
Filter = Annotated[str, Query(max_length=200)]
# The fields a ticket's page lists, in order, with their labels (empty ones are left out).
FIELDS: list[tuple[str, str]] = [
    ("description", "Description"),
    ("type", "Type"),
    ("channel", "Channel"),
    ("category", "Category"),
    ("product", "Product"),
    ("project", "Project"),
    ("region", "Region"),
    ("organisation", "Organisation"),
    ("branch", "Branch"),
    ("location", "Location"),
    ("contact", "Contact"),
    ("business_type", "Business type"),
    ("sub_type", "Sub-type"),
    ("severity", "Severity"),
    ("progress", "Progress (%)"),
    ("simple_description", "Summary"),
    ("solution", "Solution"),
    ("remarks", "Remarks"),
    ("cc", "Cc"),
    ("labels", "Labels"),
]
DATES: list[tuple[str, str]] = [
    ("created_at", "Created"),
    ("updated_at", "Updated"),
    ("due_at", "Due"),
    ("opened_at", "Opened"),
    ("assigned_at", "Assigned"),
    ("commented_at", "Last comment"),
    ("status_changed_at", "Status changed"),
    ("pending_at", "Pending since"),
    ("reopened_at", "Reopened"),
    ("solved_at", "Solved"),
    ("closed_at", "Closed"),
    ("expires_at", "Expires"),
]


@dataclass(frozen=True)
class QueueQuery:
    status: str
    assignee: str
    requester: str
    tag: str
    q: str

    def as_params(self) -> dict[str, str]:
        return {name: value for name, value in vars(self).items() if value}


def queue_filter(db: Session, principal: Principal, query: QueueQuery) -> tickets.TicketFilter:
    """The form's values as the API's listing filter: people by user name, statuses by name."""
    status: list[Status] = []
    if query.status:
        try:
            status = [Status(query.status)]
        except ValueError as exc:
            raise InvalidInput("no such status", [FieldError("/status", query.status)]) from exc
    return tickets.TicketFilter(
        status=status,
        assignee_id=_user_id(db, principal, query.assignee),
        requester_id=_user_id(db, principal, query.requester),
        tag=query.tag or None,
        text=query.q or None,
    )


def _user_id(db: Session, principal: Principal, username: str) -> int | None:
    if not username:
        return None
    user = identity.user_by_username(db, tenant_id=principal.tenant_id, username=username)
    # An unknown name matches no ticket (0 is no user's id), as the API's unknown id would.
    return user.id if user is not None else 0


def ticket_rows(db: Session, items: list[Ticket]) -> list[dict[str, Any]]:
    people = identity.users_by_id(
        db, [t.requester_id for t in items] + [a for t in items for a in t.assignee_ids]
    )
    return [
        {
            "id": ticket.id,
            "subject": ticket.subject,
            "status": ticket.status,
            "priority": ticket.priority,
            "requester": _name(people, ticket.requester_id),
            "assignees": ", ".join(_name(people, a) for a in ticket.assignee_ids) or "—",
            "tags": ticket.tags,
            "updated_at": ticket.updated_at,
        }
        for ticket in items
    ]


def _name(people: dict[int, User], user_id: int | None) -> str:
    if user_id is None:
        return "—"
    user = people.get(user_id)
    return user.display_name if user is not None else f"user {user_id}"


@router.get("/queue")
def queue(
    visitor: StaffDep,
    request: Request,
    status: Filter = "",
    assignee: Filter = "",
    requester: Filter = "",
    tag: Filter = "",
    q: Filter = "",
    cursor: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    query = QueueQuery(status, assignee, requester, tag, q)
    services = services_of(request)
    with unit_of_work(services.sessions, write=False) as db:
        filters = queue_filter(db, visitor.principal, query)
        page = tickets.list_tickets(
            db, visitor.principal, filters, limit=PAGE_SIZE, cursor=cursor or None, count=False
        )
        counts = tickets.count_by_status(db, visitor.principal, filters, cap=COUNT_CAP)
        staff = identity.list_staff(db, tenant_id=visitor.principal.tenant_id)
        rows = ticket_rows(db, page.items)
    by_status = counts.by_status
    shown = [by_status[s.value] for s in filters.status] if filters.status else list(by_status.values())
    return render(
        "queue.html",
        visitor,
        current="queue",
        query=query,
        rows=rows,
        total=sum(min(count, COUNT_CAP) for count in shown),
        more=counts.at_least or any(count > COUNT_CAP for count in shown),
        at_least=counts.at_least,
        everything=_count_label(list(by_status.values()), counts.at_least),
        counts=[(s.value, _count_label([by_status[s.value]], counts.at_least)) for s in Status],
        next_cursor=page.next_cursor,
        staff=staff,
        statuses=[s.value for s in Status],
    )


def _count_label(counts: list[int], at_least: bool = False) -> str:
    """The sum of capped counts, with "+" when any of them stopped at the cap or all are lower
    bounds (a search found more tickets than were counted)."""
    shown = sum(min(count, COUNT_CAP) for count in counts)
    return f"{shown:,}+" if at_least or any(count > COUNT_CAP for count in counts) else f"{shown:,}"


@router.get("/portal")
def portal(
    visitor: VisitorDep, request: Request, cursor: Annotated[str, Query(max_length=200)] = ""
) -> Response:
    return render("portal.html", visitor, current="portal", **_portal_context(visitor, request, cursor))


@router.get("/portal/live")
def portal_live(
    visitor: VisitorDep, request: Request, cursor: Annotated[str, Query(max_length=200)] = ""
) -> Response:
    return render("portal_list.html", visitor, **_portal_context(visitor, request, cursor))


def _portal_context(visitor: Visitor, request: Request, cursor: str) -> dict[str, Any]:
    services = services_of(request)
    with unit_of_work(services.sessions, write=False) as db:
        # A customer's listing is their own tickets: the same rule as the API (visible_conditions).
        filters = tickets.TicketFilter(requester_id=visitor.principal.user_id)
        page = tickets.list_tickets(db, visitor.principal, filters, limit=PAGE_SIZE, cursor=cursor or None)
        rows = ticket_rows(db, page.items)
    return {"rows": rows, "total": page.total, "next_cursor": page.next_cursor}


@router.get("/portal/new")
def new_ticket_form(visitor: VisitorDep, request: Request) -> Response:
    return render(
        "new_ticket.html",
        visitor,
        current="portal/new",
        subject="",
        content="",
        error="",
        **file_limits(services_of(request)),
    )


@router.post("/portal/new")
def create_ticket(visitor: VisitorDep, form: FormDep, request: Request) -> Response:
    subject, content = text(form, "subject"), text(form, "content")
    services = services_of(request)
    limits = attachments.Limits.of(services.settings)
    files = files_in(form, "files", limits.max_bytes, MAX_FILES_A_FORM)
    with unit_of_work(services.sessions, write=True) as db:
        changes = tickets.Changes(values={"subject": subject, "content": content})
        ticket = tickets.create_ticket(db, visitor.principal, changes)
        for file in files:
            attachments.add(db, visitor.principal, file, limits, ticket_id=ticket.id)
        db.commit()
        ticket_id = ticket.id
    return redirect(f"{PREFIX}/tickets/{ticket_id}")


@router.get("/tickets/{ticket_id}")
def ticket_page(visitor: VisitorDep, ticket_id: TicketId, request: Request) -> Response:
    context = ticket_context(visitor, request, ticket_id)
    return render(
        "ticket.html", visitor, current="portal" if visitor.principal.is_customer else "queue", **context
    )


@router.get("/tickets/{ticket_id}/live")
def ticket_live(visitor: VisitorDep, ticket_id: TicketId, request: Request) -> Response:
    """The parts of a ticket's page that change, for the page's script to swap in."""
    return render("ticket_live.html", visitor, **ticket_context(visitor, request, ticket_id))


def ticket_context(visitor: Visitor, request: Request, ticket_id: int) -> dict[str, Any]:
    services = services_of(request)
    principal = visitor.principal
    with unit_of_work(services.sessions, write=False) as db:
        ticket = tickets.get_ticket(db, principal, ticket_id)
        comments = tickets.list_comments(db, principal, ticket_id)
        events = tickets.list_events(db, principal, ticket_id)
        figures = sla.ticket_sla(db, ticket)
        people = identity.users_by_id(
            db,
            [ticket.requester_id, *ticket.assignee_ids]
            + [c.author_id for c in comments]
            + [e.actor_id for e in events],
        )
        staff = identity.list_staff(db, tenant_id=principal.tenant_id) if principal.is_staff else []
        files = attachments.list_for_ticket(db, principal, ticket_id)
        on_comments = attachments.by_comment(files)
        current = Status(ticket.status)
        context = {
            "ticket": ticket,
            "tags": ticket.tags,
            "assignee_ids": ticket.assignee_ids,
            "requester": _name(people, ticket.requester_id),
            "assignees": [(a, _name(people, a)) for a in ticket.assignee_ids],
            "fields": [
                (label, _shown(getattr(ticket, name)))
                for name, label in FIELDS
                if getattr(ticket, name) not in (None, "", [])
            ],
            "dates": [(label, getattr(ticket, name)) for name, label in DATES],
            "custom_fields": sorted((ticket.custom_fields or {}).items()),
            "sla": figures,
            "comments": [
                {
                    "author": _name(people, c.author_id),
                    "body": c.body,
                    "public": c.public,
                    "at": c.created_at,
                    "files": [file_entry(f) for f in on_comments.get(c.id, ())],
                }
                for c in comments
            ],
            "files": [file_entry(f) for f in files if f.comment_id is None],
            **file_limits(services),
            "timeline": [timeline_entry(e, people) for e in events],
            "transitions": sorted(s.value for s in ALLOWED_TRANSITIONS[current])
            if principal.is_staff
            else [],
            "reopenable": current in REOPENABLE,
            "staff": staff,
            "priorities": [p.value for p in Priority],
            "last_event_id": events[-1].id if events else 0,
        }
    return context


def timeline_entry(event: TicketEvent, people: dict[int, User]) -> dict[str, Any]:
    actor = _name(people, event.actor_id) if event.actor_id else "ticketd"
    if event.kind == EventKind.CREATED:
        what = "created the ticket"
    elif event.kind == EventKind.STATUS_CHANGED:
        what = f"changed the status from {event.old_value} to {event.new_value}"
    elif event.kind == EventKind.REOPENED:
        what = f"reopened the ticket ({event.old_value} → {event.new_value})"
    elif event.kind == EventKind.COMMENTED:
        public = bool((event.new_value or {}).get("public"))
        what = "replied" if public else "added an internal note"
    elif event.kind in (EventKind.ATTACHMENT_ADDED, EventKind.ATTACHMENT_REMOVED):
        filename = (event.new_value or {}).get("filename", "a file")
        what = f"attached {filename}" if event.kind == EventKind.ATTACHMENT_ADDED else f"removed {filename}"
    elif event.kind == EventKind.FIELD_CHANGED:
        field = str(event.field).replace("_", " ")
        what = f"changed {field}: {_short(event.old_value)} → {_short(event.new_value)}"
    else:
        what = str(event.kind)
    return {"at": event.at, "actor": actor, "what": what, "kind": event.kind}


def _shown(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def _short(value: Any) -> str:
    if value in (None, "", []):
        return "—"
    shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return shown if len(shown) <= 80 else shown[:79] + "…"


@router.post("/tickets/{ticket_id}/reply")
def reply(visitor: VisitorDep, ticket_id: TicketId, form: FormDep, request: Request) -> Response:
    """A comment and, for staff, a new status, in one transaction (as agents answer and solve)."""
    body = text(form, "body")
    public = visitor.principal.is_customer or text(form, "visibility", "public") == "public"
    target = text(form, "status")
    services = services_of(request)
    limits = attachments.Limits.of(services.settings)
    files = files_in(form, "files", limits.max_bytes, MAX_FILES_A_FORM)
    if files and not body:
        raise InvalidInput(
            "write a few words to go with the files", [FieldError("/body", "must not be empty")]
        )
    with unit_of_work(services.sessions, write=True) as db:
        if body:
            comment = tickets.add_comment(db, visitor.principal, ticket_id, body=body, public=public)
            # Stored ahead, then put on the comment: an internal note's files are never the ticket's.
            ahead = [
                attachments.add(db, visitor.principal, file, limits, ticket_id=None).id for file in files
            ]
            ticket = tickets.get_ticket(db, visitor.principal, ticket_id)
            attachments.claim(db, visitor.principal, ticket, ahead, limits, comment=comment, pointer="/files")
        if target:
            try:
                status = Status(target)
            except ValueError as exc:
                raise InvalidInput("no such status", [FieldError("/status", target)]) from exc
            tickets.transition(db, visitor.principal, ticket_id, status)
        if not body and not target:
            raise InvalidInput(
                "write a reply or choose a new status", [FieldError("/body", "must not be empty")]
            )
        db.commit()
    return redirect(f"{PREFIX}/tickets/{ticket_id}")


@router.post("/tickets/{ticket_id}/reopen")
def reopen(visitor: VisitorDep, ticket_id: TicketId, form: FormDep, request: Request) -> Response:
    with unit_of_work(services_of(request).sessions, write=True) as db:
        tickets.transition(db, visitor.principal, ticket_id, Status.OPEN, reopen=True)
        db.commit()
    return redirect(f"{PREFIX}/tickets/{ticket_id}")


@router.post("/tickets/{ticket_id}/fields")
def set_fields(visitor: StaffDep, ticket_id: TicketId, form: FormDep, request: Request) -> Response:
    priority = text(form, "priority")
    assignees = [
        int(v) for v in form.getlist("assignee") if isinstance(v, str) and v.isdigit() and len(v) < 19
    ]
    tags = [tag.strip() for tag in text(form, "tags").split(",") if tag.strip()]
    with unit_of_work(services_of(request).sessions, write=True) as db:
        changes = tickets.Changes(
            values={"priority": priority} if priority else {}, assignee_ids=assignees, tags=tags
        )
        tickets.update_ticket(db, visitor.principal, ticket_id, changes)
        db.commit()
    return redirect(f"{PREFIX}/tickets/{ticket_id}")


@router.get("/events")
async def live_events(
    visitor: VisitorDep,
    request: Request,
    ticket_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    last_event_id: Annotated[str | None, Header(max_length=40)] = None,
) -> Response:
    """The signed-in user's visible events, as the API's stream sends them (the pages' script
    fetches the changed part of the page when one comes)."""
    resume = (
        int(last_event_id) if last_event_id and last_event_id.isdigit() and len(last_event_id) < 19 else None
    )
    wanted = StreamFilter(ticket_id=ticket_id)
    services = services_of(request)
    caller = StreamCaller(
        visitor.principal,
        request.client.host if request.client else "",
        lambda: session_stands(services, visitor),
    )
    return await event_stream_response(caller, services, wanted, resume)


def file_limits(services: Services) -> dict[str, int]:
    """What the file inputs say of their limits."""
    return {"max_files": MAX_FILES_A_FORM, "max_file_bytes": services.settings.max_attachment_bytes}


def file_entry(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.id,
        "name": attachment.filename,
        "type": attachment.content_type,
        "size": attachment.size,
        "image": shown_inline(attachment.content_type),
        "url": f"{FILES_PATH}/{attachment.id}",
    }


@router.get("/files/{attachment_id}")
def download_file(visitor: VisitorDep, attachment_id: TicketId, request: Request) -> Response:
    """A file of a ticket the visitor may see: images shown in place (thumbnails), the rest saved."""
    services = services_of(request)
    with unit_of_work(services.sessions, write=False) as db:
        download = Download.of(attachments.get(db, visitor.principal, attachment_id))

    return download_response(request, services.sessions, download, error_response)
