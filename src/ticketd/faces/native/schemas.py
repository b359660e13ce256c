"""The native API's wire schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ticketd.core.ids import MAX_ID
from ticketd.core.lifecycle import Status

PriorityName = Literal["low", "normal", "high", "urgent"]
TypeName = Literal["question", "incident", "problem", "request", "task"]
ChannelName = Literal["email", "web", "phone", "chat", "api", "social", "other"]
StatusName = Literal["new", "open", "pending", "solved", "closed", "canceled", "invalid"]

Short = Field(default=None, max_length=200)
# Ids fit a signed 64-bit column; anything larger is a validation error, not a driver overflow.
UserId = Annotated[int, Field(ge=1, le=MAX_ID)]


class TicketFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str | None = Field(default=None, max_length=100_000)
    description: str | None = Field(default=None, max_length=100_000)
    solution: str | None = Field(default=None, max_length=100_000)
    remarks: str | None = Field(default=None, max_length=100_000)
    product: str | None = Short
    project: str | None = Short
    region: str | None = Short
    contact: str | None = Field(default=None, max_length=320)
    priority: PriorityName | None = None
    category: str | None = Short
    type: TypeName | None = None
    channel: ChannelName | None = None
    progress: int | None = Field(default=None, ge=0, le=100)
    organisation: str | None = Short
    branch: str | None = Short
    location: str | None = Short
    business_type: str | None = Field(default=None, max_length=100)
    sub_type: str | None = Field(default=None, max_length=100)
    simple_description: str | None = Field(default=None, max_length=500)
    severity: str | None = Field(default=None, max_length=32)
    labels: list[str] | None = Field(default=None, max_length=50)
    cc: list[str] | None = Field(default=None, max_length=50)
    custom_fields: dict[str, Any] | None = None
    due_at: datetime | None = None
    expires_at: datetime | None = None
    requester_id: UserId | None = None
    assignee_ids: list[UserId] | None = Field(default=None, max_length=50)
    tags: list[str] | None = Field(default=None, max_length=50)


class TicketCreate(TicketFields):
    subject: str = Field(min_length=1, max_length=500)


class TicketPatch(TicketFields):
    """A JSON merge patch: members present are set, members absent are left as they are."""

    subject: str | None = Field(default=None, min_length=1, max_length=500)
    status: StatusName | None = None


class Sla(BaseModel):
    response_time: int | None
    resolution_time: int | None
    handling_time: int
    waiting_time: int


class TicketOut(BaseModel):
    id: int
    status: StatusName
    version: int
    subject: str
    content: str
    description: str
    solution: str | None
    remarks: str
    product: str | None
    project: str | None
    region: str | None
    contact: str | None
    priority: PriorityName
    category: str | None
    type: TypeName
    channel: ChannelName
    progress: int
    organisation: str | None
    branch: str | None
    location: str | None
    business_type: str | None
    sub_type: str | None
    simple_description: str | None
    severity: str | None
    labels: list[str]
    tags: list[str]
    cc: list[str]
    custom_fields: dict[str, Any]
    requester_id: int | None
    assignee_ids: list[int]
    creator_id: int | None
    modifier_id: int | None
    viewer_id: int | None
    opener_id: int | None
    solver_id: int | None
    closer_id: int | None
    responder_id: int | None
    handler_id: int | None
    due_at: datetime | None
    viewed_at: datetime | None
    opened_at: datetime | None
    reopened_at: datetime | None
    solved_at: datetime | None
    closed_at: datetime | None
    pending_at: datetime | None
    commented_at: datetime | None
    status_changed_at: datetime | None
    assigned_at: datetime | None
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    sla: Sla | None = None


class TicketPage(BaseModel):
    items: list[TicketOut]
    total: int = Field(description="How many tickets match the filters, over all pages.")
    limit: int
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class StatusOut(BaseModel):
    id: int
    status: StatusName
    updated_at: datetime


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: StatusName

    @property
    def target(self) -> Status:
        return Status(self.to)


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(min_length=1, max_length=100_000)
    public: bool = True
    attachment_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        default_factory=list,
        max_length=100,
        description="Files uploaded to this ticket (POST /tickets/{id}/attachments) for this comment.",
    )


class AttachmentOut(BaseModel):
    id: int
    ticket_id: int | None
    comment_id: int | None
    filename: str
    content_type: str = Field(description="Decided from the file's bytes, not from what the client said.")
    size: int
    sha256: str
    created_at: datetime
    created_by: int | None


class CommentOut(BaseModel):
    id: int
    ticket_id: int
    author_id: int | None
    body: str
    public: bool
    created_at: datetime
    attachments: list[AttachmentOut] = Field(default_factory=list)


class EventOut(BaseModel):
    id: int
    ticket_id: int
    actor_id: int | None
    at: datetime
    kind: str
    field: str | None
    old_value: Any
    new_value: Any


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenant: str = Field(min_length=1, max_length=64)
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a scheme name
    expires_in: int


class FieldProblem(BaseModel):
    pointer: str | None = None
    parameter: str | None = None
    detail: str


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldProblem] | None = None
