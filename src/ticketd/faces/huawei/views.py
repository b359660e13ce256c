"""From domain rows to OSM's wire shapes: cases, messages, operation logs, labels."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from fastapi.responses import Response

from ticketd.core.attachments import by_comment
from ticketd.core.events import EventKind
from ticketd.core.labels import labels_of
from ticketd.core.lifecycle import Status
from ticketd.faces.huawei.deps import Context
from ticketd.faces.huawei.errors import JSON
from ticketd.faces.huawei.vocabulary import BUSINESS_TYPES, SEVERITIES, STATUS_CODES, SUB_TYPES, name
from ticketd.store.tables import Attachment, Comment, Label, Ticket, TicketEvent, User

OPERATE_TYPES: dict[str, int] = {
    EventKind.CREATED: 1,
    EventKind.FIELD_CHANGED: 2,
    EventKind.STATUS_CHANGED: 3,
    EventKind.REOPENED: 4,
    EventKind.COMMENTED: 5,
    EventKind.DELETED: 6,
    EventKind.ATTACHMENT_ADDED: 7,
    EventKind.ATTACHMENT_REMOVED: 8,
}


def json_response(body: Any) -> Response:
    return Response(orjson.dumps(body), media_type=JSON)


def iam_time(value: datetime) -> str:
    """IAM's timestamps: microseconds shown as milliseconds and three zeros, in UTC."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "000Z"


def label_out(label: Label) -> dict[str, Any]:
    return {"label_id": label.id, "name": label.name, "color": label.color}


def case_info(ticket: Ticket, ctx: Context, labels: dict[str, Label]) -> dict[str, Any]:
    return {
        "xcustomer_id": None,
        "xcustomer_name": None,
        "status": STATUS_CODES[ticket.status],
        "incident_id": str(ticket.id),
        "business_type_name": name(BUSINESS_TYPES, ticket.business_type, ctx.lang),
        "incident_type_name": name(SUB_TYPES, ticket.sub_type, ctx.lang),
        "product_category_name": None,
        "incident_service_type": None,
        "customer_id": str(ticket.requester_id) if ticket.requester_id else None,
        "dc_name": None,
        "simple_description": ticket.simple_description or ticket.subject,
        "root_cause": None,
        "resolution": ticket.solution,
        "create_time": ctx.time(ticket.created_at),
        "confirmed_time": ctx.time(ticket.closed_at) if ticket.status == Status.CLOSED.value else None,
        "label_list": [label_out(label) for label in labels_of(ticket, labels)],
    }


def detail_info(
    ticket: Ticket,
    ctx: Context,
    comments: list[Comment],
    people: dict[int, User],
    files: Sequence[Attachment] = (),
) -> dict[str, Any]:
    on_messages = by_comment(files)
    messages = [
        message(c, ctx, people, first=i == 0, detail=True, files=on_messages.get(c.id, ()))
        for i, c in enumerate(comments)
    ]
    resolve = int((ticket.closed_at - ticket.created_at).total_seconds()) if ticket.closed_at else None
    return {
        "xcustomer_id": None,
        "xcustomer_name": None,
        "status": STATUS_CODES[ticket.status],
        "judgement": None,
        "incident_id": str(ticket.id),
        "business_type_name": name(BUSINESS_TYPES, ticket.business_type, ctx.lang),
        "incident_type_name": name(SUB_TYPES, ticket.sub_type, ctx.lang),
        "customer_id": str(ticket.requester_id) if ticket.requester_id else None,
        "dc_name": None,
        "simple_description": ticket.simple_description or ticket.subject,
        "source_name": ticket.channel,
        "create_time": ctx.time(ticket.created_at),
        "message_list": messages,
        "incident_satisfaction": [],
        "severity_name": name(SEVERITIES, ticket.severity, ctx.lang),
        "business_ownership": 1,
        "resolve_time": resolve,
        # The case's own accessories (named when it was created); a message's are on the message.
        "accessory_list": [simple_accessory(file) for file in files if file.comment_id is None],
    }


def message(
    comment: Comment,
    ctx: Context,
    people: dict[int, User],
    *,
    first: bool,
    detail: bool,
    files: Sequence[Attachment] = (),
) -> dict[str, Any]:
    author = people.get(comment.author_id or 0)
    from_customer = author is None or author.role == "customer"
    entry: dict[str, Any] = {
        "type": 0 if from_customer else 1,
        "replier": str(comment.author_id) if comment.author_id else None,
        "content": comment.body,
        "create_time": ctx.time(comment.created_at),
        "replier_name": author.display_name if author else None,
        "is_first_message": 1 if first else 0,
        "accessory_list": [simple_accessory(file) for file in files],
    }
    if detail:
        entry["message_id"] = str(comment.id)
    else:
        entry["replier_type"] = 0 if from_customer else 1
        entry["iam_user_type"] = 1
    return entry


def operate_log(event: TicketEvent, ctx: Context, people: dict[int, User]) -> dict[str, Any]:
    actor = people.get(event.actor_id or 0)
    what = event.field or event.kind
    desc = f"{event.kind} {what}: {event.old_value!s} -> {event.new_value!s}" if event.field else event.kind
    return {
        "incident_log_id": str(event.id),
        "incident_id": str(event.ticket_id),
        "operate_type": OPERATE_TYPES.get(event.kind, 0),
        "operator_type": 0 if actor and actor.role == "customer" else 1,
        "operator_id": str(event.actor_id) if event.actor_id else None,
        "operator_name": actor.display_name if actor else None,
        "operate_desc": desc,
        "operate_time": ctx.time(event.at),
        "timestamp_operate_time": ctx.time(event.at),
    }


def simple_accessory(attachment: Attachment) -> dict[str, str]:
    """SimpleAccessoryV2, as a case's detail and its messages list them."""
    return {"accessory_id": str(attachment.id), "file_actual_name": attachment.filename}
