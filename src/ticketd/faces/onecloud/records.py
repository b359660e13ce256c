"""Tickets as OneCloud records: every value a string or null, dates `YYYY-MM-DD HH:MM:SS` in the
face's time zone, people as user ids, codes from codes.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ticketd.core.sla import SlaFigures
from ticketd.faces.onecloud.codes import MEDIA, PRIORITIES, STATUSES, TYPES, category_id
from ticketd.faces.onecloud.paths import ATTACHMENT_PATH
from ticketd.store.tables import Attachment, Comment, Ticket

NEVER = "3000-01-01 00:00:00"


class RecordFormat:
    def __init__(self, time_zone: str) -> None:
        self.zone = ZoneInfo(time_zone)

    def date(self, value: datetime | None) -> str | None:
        return value.astimezone(self.zone).strftime("%Y-%m-%d %H:%M:%S") if value else None

    def record(
        self,
        ticket: Ticket,
        *,
        usernames: dict[int, str],
        comment_count: int,
        sla: SlaFigures,
        files: Sequence[Attachment] = (),
    ) -> dict[str, Any]:
        """The full record of `GET /api/ticketrz/<id>`, with the seed's keys in the seed's order."""
        assignees = ticket.assignee_ids
        priority_id, priority_value, _ = PRIORITIES[ticket.priority]
        return {
            "Id": str(ticket.id),
            "SiteId": str(ticket.tenant_id),
            "Requestor": _text(ticket.requester_id),
            "Assignee": _text(assignees[0]) if assignees else None,
            "Cc": ",".join(ticket.cc) or None,
            "Subject": ticket.subject,
            "Content": ticket.content,
            "Description": ticket.description,
            "Solution": ticket.solution,
            "Remarks": ticket.remarks,
            "ProductId": ticket.product,
            "ProjectId": ticket.project,
            "RegionId": ticket.region,
            "ContactId": _text(ticket.requester_id),
            "PriorityId": priority_id,
            "PriorityValue": priority_value,
            "CategoryId": category_id(ticket.category),
            "Progress": str(ticket.progress),
            "OrganizationId": ticket.organisation,
            "BranchId": ticket.branch,
            "DueDate": self.date(ticket.due_at),
            "ViewDate": self.date(ticket.viewed_at),
            "OpenDate": self.date(ticket.opened_at),
            "OpenUser": _text(ticket.opener_id),
            "ReOpenDate": self.date(ticket.reopened_at),
            "SolveDate": self.date(ticket.solved_at),
            "CloseDate": self.date(ticket.closed_at),
            "PendingDate": self.date(ticket.pending_at),
            "Comment": str(comment_count),
            "Viewer": _text(ticket.viewer_id),
            "LocationId": ticket.location,
            "MessageId": None,
            "TypeId": TYPES[ticket.type],
            "MediaId": MEDIA[ticket.channel][0],
            "StatusId": STATUSES[ticket.status][0],
            "Responder": _text(ticket.responder_id),
            "Handler": _text(ticket.handler_id),
            "CommentDate": self.date(ticket.commented_at),
            "UnseenComment": "0",
            "IsAgentSaveContact": "1" if ticket.contact else "0",
            "ModifyDate": self.date(ticket.updated_at),
            "ResponseTime": _text(sla.response_time),
            "ResolutionTime": _text(sla.resolution_time),
            "HandlingTime": _text(sla.handling_time or None),
            "WaitingTime": _text(sla.waiting_time or None),
            "CloseUser": _text(ticket.closer_id),
            "SolveUser": _text(ticket.solver_id),
            "StatusDate": self.date(ticket.status_changed_at),
            "Modifier": _text(ticket.modifier_id),
            "Creator": _text(ticket.creator_id),
            "CreateDate": self.date(ticket.created_at),
            "ExpireDate": self.date(ticket.expires_at) or NEVER,
            "AssignDate": self.date(ticket.assigned_at),
            "AssigneeList": ",".join(str(a) for a in assignees) or None,
            "AssigneeTextList": ",".join(usernames.get(a, str(a)) for a in assignees) or None,
            "Attachments": [self.attachment(file) for file in files],
        }

    def summary(
        self,
        ticket: Ticket,
        *,
        names: dict[int, str],
        usernames: dict[int, str],
        files: Sequence[Attachment] = (),
    ) -> dict[str, Any]:
        """One entry of the find list, with display names as the vendor's example shows them."""
        assignees = ticket.assignee_ids
        return {
            "Id": str(ticket.id),
            "Requestor": names.get(ticket.requester_id) if ticket.requester_id else None,
            "Assignee": usernames.get(assignees[0]) if assignees else None,
            "Subject": ticket.subject,
            "Description": ticket.description,
            "Viewer": _text(ticket.viewer_id),
            "DueDate": self.date(ticket.due_at),
            "CreateDate": self.date(ticket.created_at),
            "ModifyDate": self.date(ticket.updated_at),
            "Media": MEDIA[ticket.channel][1],
            "Product": ticket.product,
            "Region": ticket.region,
            "Category": ticket.category,
            "Status": STATUSES[ticket.status][1],
            "Priority": PRIORITIES[ticket.priority][2],
            "Attachments": [self.attachment(file) for file in files],
            "Tags": ",".join(ticket.tags),
        }

    def attachment(self, attachment: Attachment) -> dict[str, Any]:
        """A file as the records list it: text values, as every value of theirs, and where to get it."""
        return {
            "Id": str(attachment.id),
            "TicketId": _text(attachment.ticket_id),
            "MessageId": _text(attachment.comment_id),
            "FileName": attachment.filename,
            "FileType": attachment.content_type,
            "FileSize": str(attachment.size),
            "CreateDate": self.date(attachment.created_at),
            "Url": f"{ATTACHMENT_PATH}/{attachment.id}",
        }

    def message(self, comment: Comment, *, names: dict[int, str]) -> dict[str, Any]:
        return {
            "Id": str(comment.id),
            "TicketId": str(comment.ticket_id),
            "Sender": _text(comment.author_id),
            "SenderName": names.get(comment.author_id) if comment.author_id else None,
            "Message": comment.body,
            "IsPublic": "1" if comment.public else "0",
            "CreateDate": self.date(comment.created_at),
        }


def _text(value: int | None) -> str | None:
    return None if value is None else str(value)
