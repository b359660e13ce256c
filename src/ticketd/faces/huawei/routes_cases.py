"""OSM cases: create, list, count, detail, status, messages, actions and operation logs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from ticketd.core import attachments, tickets
from ticketd.core.errors import InvalidInput, InvalidTransition
from ticketd.core.identity import users_by_id
from ticketd.core.labels import tenant_labels
from ticketd.core.lifecycle import Status
from ticketd.core.paging import OffsetPage, page_of_list, page_of_query
from ticketd.core.text import contains
from ticketd.faces.huawei.deps import Context, Ctx, Db, GroupId, Limit, Offset, case_number, visible_case
from ticketd.faces.huawei.paths import CASES
from ticketd.faces.huawei.routes_accessories import accessory_numbers
from ticketd.faces.huawei.schemas import CaseIn, MessageIn
from ticketd.faces.huawei.views import case_info, detail_info, json_response, message, operate_log
from ticketd.faces.huawei.vocabulary import BUSINESS_TYPES, SEVERITIES, STATUS_CODES, STATUS_OF_CODE
from ticketd.store.tables import Ticket

router = APIRouter(prefix=f"{CASES}/cases")
ACTIONS = {"confirm", "cancel", "close", "reopen"}
StatusCode = Annotated[int | None, Query(ge=0, le=20)]


@router.get("/{case_id}/status", summary="Querying Service Ticket Status")
def case_status(case_id: str, ctx: Ctx, db: Db) -> Response:
    # Served by the hot path in front of this app (hot.py); declared here for the OpenAPI document
    # and as the same answer should a request ever reach it.
    ticket = visible_case(db, ctx, case_id)
    return json_response({"status": STATUS_CODES[ticket.status]})


@router.post("", summary="Creating a service ticket")
def create_case(body: CaseIn, ctx: Ctx, db: Db, request: Request) -> Response:
    if body.business_type_id not in BUSINESS_TYPES:
        raise InvalidInput("business_type_id is not a known business type")
    if body.severity_id and body.severity_id not in SEVERITIES:
        raise InvalidInput("severity_id is not a known severity")
    extra = {
        "product_category_id": body.product_category_id,
        "source_id": body.source_id,
        "remind_mobile": body.remind_mobile,
    }
    values: dict[str, Any] = {
        "subject": body.simple_description[:500],
        "content": body.simple_description,
        "contact": body.remind_mail,
        "custom_fields": {key: value for key, value in extra.items() if value},
    }
    if ctx.principal.is_customer:
        values["description"] = body.simple_description
    else:
        values["priority"] = SEVERITIES[body.severity_id or "2"]["priority"]
        values["channel"] = "api"
    # What the form states about the request is recorded whoever files it.
    classification = {
        "simple_description": body.simple_description[:500],
        "business_type": body.business_type_id,
        "sub_type": body.incident_sub_type_id,
        "region": body.region_id,
        "project": body.project_id,
        "severity": body.severity_id,
    }
    accessory_ids = accessory_numbers(body.accessory_ids, "accessory_ids")
    ticket = tickets.create_ticket(
        db, ctx.principal, tickets.Changes(values=values), classification=classification
    )
    attachments.claim(db, ctx.principal, ticket, accessory_ids, _limits(request), pointer="/accessory_ids")
    db.commit()
    return json_response({"incident_id": str(ticket.id)})


@router.get("", summary="Querying the service ticket list")
def list_cases(
    ctx: Ctx,
    db: Db,
    search_key: Annotated[list[str] | None, Query(max_length=10)] = None,
    label_id_list: Annotated[list[str] | None, Query(max_length=50)] = None,
    incident_id: Annotated[str | None, Query(max_length=64)] = None,
    query_start_time: Annotated[str | None, Query(max_length=32)] = None,
    query_end_time: Annotated[str | None, Query(max_length=32)] = None,
    status: StatusCode = None,
    incident_status: Annotated[str | None, Query(max_length=64)] = None,
    group_id: GroupId = None,
    offset: Offset = 0,
    limit: Limit = 10,
) -> Response:
    conditions = tickets.visible_conditions(ctx.principal)
    if incident_id:
        conditions.append(Ticket.id == case_number(incident_id))
    statuses = [status] if status is not None else []
    if incident_status:
        statuses += [_status_code(part) for part in incident_status.split(",") if part.strip()]
    if statuses:
        conditions.append(Ticket.status.in_([STATUS_OF_CODE.get(code, "") for code in statuses]))
    for key in search_key or []:
        conditions.append(contains((Ticket.simple_description, Ticket.subject), key, "search_key"))
    if query_start_time:
        conditions.append(Ticket.created_at >= _time(query_start_time, ctx, "query_start_time"))
    if query_end_time:
        conditions.append(Ticket.created_at <= _time(query_end_time, ctx, "query_end_time"))
    query = select(Ticket).where(*conditions).order_by(Ticket.id.desc())
    page: OffsetPage[Ticket]
    if label_id_list:
        # Labels live in a JSON list, which SQLite and PostgreSQL cannot index alike: this filter is
        # applied in Python over the other filters' result.
        wanted = {label for item in label_id_list for label in item.split(",") if label}
        matching = [t for t in db.scalars(query) if wanted & set(t.labels)]
        page = page_of_list(matching, offset=offset, limit=limit)
    else:
        page = page_of_query(db, query, offset=offset, limit=limit)
    labels = tenant_labels(db, ctx.principal.tenant_id)
    return json_response(
        {"total_count": page.total, "incident_info_list": [case_info(t, ctx, labels) for t in page.items]}
    )


@router.get("/count", summary="Querying the number of service tickets by status")
def count_cases(ctx: Ctx, db: Db, status: StatusCode = None) -> Response:
    conditions = tickets.visible_conditions(ctx.principal)
    query = select(Ticket.status, func.count()).where(*conditions).group_by(Ticket.status)
    counts = {row[0]: row[1] for row in db.execute(query)}
    entries = [{"status": code, "count": counts.get(state, 0)} for state, code in STATUS_CODES.items()]
    if status is not None:
        entries = [entry for entry in entries if entry["status"] == status]
    return json_response({"incident_status_counts": entries})


@router.get("/{case_id}", summary="Querying service ticket details")
def case_detail(case_id: str, ctx: Ctx, db: Db) -> Response:
    ticket = visible_case(db, ctx, case_id)
    comments = tickets.list_comments(db, ctx.principal, ticket.id)
    people = users_by_id(db, {c.author_id for c in comments} | {ticket.requester_id})
    files = attachments.list_for_ticket(db, ctx.principal, ticket.id)
    return json_response({"incident_detail_info": detail_info(ticket, ctx, comments, people, files)})


@router.get("/{case_id}/messages", summary="Querying messages")
def list_messages(
    case_id: str, ctx: Ctx, db: Db, offset: Offset = 0, limit: Limit = 10, group_id: GroupId = None
) -> Response:
    ticket = visible_case(db, ctx, case_id)
    comments = tickets.list_comments(db, ctx.principal, ticket.id)
    people = users_by_id(db, {c.author_id for c in comments})
    files = attachments.by_comment(attachments.list_for_ticket(db, ctx.principal, ticket.id))
    page = page_of_list(comments, offset=offset, limit=limit)
    messages = [
        message(c, ctx, people, first=c is comments[0], detail=False, files=files.get(c.id, ()))
        for c in page.items
    ]
    return json_response({"count": page.total, "message_list": messages})


@router.post("/{case_id}/message", summary="Leaving a message")
def create_message(case_id: str, body: MessageIn, ctx: Ctx, db: Db, request: Request) -> Response:
    ticket = visible_case(db, ctx, case_id)
    accessory_ids = accessory_numbers(body.message.accessory_ids, "message.accessory_ids")
    comment = tickets.add_comment(db, ctx.principal, ticket.id, body=body.message.content, public=True)
    attachments.claim(
        db,
        ctx.principal,
        ticket,
        accessory_ids,
        _limits(request),
        comment=comment,
        pointer="/message/accessory_ids",
    )
    db.commit()
    return json_response({})


@router.post("/{case_id}/action", summary="Operating a service ticket")
def operate(
    case_id: str, ctx: Ctx, db: Db, action_id: Annotated[str, Query(min_length=1, max_length=32)]
) -> Response:
    ticket = visible_case(db, ctx, case_id)
    if action_id not in ACTIONS:
        raise InvalidInput(f"action_id must be one of {', '.join(sorted(ACTIONS))}")
    if action_id == "reopen":
        tickets.transition(db, ctx.principal, ticket.id, Status.OPEN, reopen=True)
    elif action_id == "confirm":
        # The customer confirms the solution: "to be confirmed" becomes "completed".
        if ticket.status != Status.SOLVED.value:
            raise InvalidTransition(ticket.status, Status.CLOSED.value)
        tickets.transition(db, ctx.principal, ticket.id, Status.CLOSED)
    else:
        target = Status.CANCELED if action_id == "cancel" else Status.CLOSED
        tickets.transition(db, ctx.principal, ticket.id, target)
    db.commit()
    return json_response({})


@router.get("/{case_id}/operate-logs", summary="Querying operation logs")
def operate_logs(
    case_id: str, ctx: Ctx, db: Db, offset: Offset = 0, limit: Limit = 10, group_id: GroupId = None
) -> Response:
    ticket = visible_case(db, ctx, case_id)
    events = tickets.list_events(db, ctx.principal, ticket.id)
    people = users_by_id(db, {e.actor_id for e in events})
    page = page_of_list(events, offset=offset, limit=limit)
    return json_response(
        {
            "total_count": page.total,
            "incident_operate_log_list": [operate_log(e, ctx, people) for e in page.items],
        }
    )


def _status_code(text: str) -> int:
    if not text.strip().isdecimal():
        raise InvalidInput("incident_status must list status numbers")
    return int(text)


def _time(text: str, ctx: Context, field: str) -> datetime:
    for form in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, form).replace(tzinfo=ctx.zone)
        except ValueError:
            continue
    raise InvalidInput(f"{field} must be a time such as 2026-01-31 08:00:00")


def _limits(request: Request) -> attachments.Limits:
    return attachments.Limits.of(request.app.state.services.settings)
