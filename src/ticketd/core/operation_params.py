"""What each kind of operation takes, typed: validated once when the operation starts (by whichever
face starts it), stored with the operation as JSON, and read back the same way by the worker."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ticketd.core.errors import FieldError, InvalidInput
from ticketd.core.ids import MAX_ID
from ticketd.core.lifecycle import Status
from ticketd.core.tickets import TicketFilter

StatusName = Literal["new", "open", "pending", "solved", "closed", "canceled", "invalid"]
PriorityName = Literal["low", "normal", "high", "urgent"]
UserId = Annotated[int, Field(ge=1, le=MAX_ID)]
FileFormat = Literal["csv", "jsonl"]


class OperationKind(StrEnum):
    IMPORT = "import"
    EXPORT = "export"
    BULK_UPDATE = "bulk_update"
    # One part of a bulk update: a child operation, run by its parent's job.
    BULK_UPDATE_PART = "bulk_update_part"


class BulkFilter(BaseModel):
    """Which tickets an export or a bulk update takes: the listing's filters."""

    model_config = ConfigDict(extra="forbid")
    status: list[StatusName] = Field(default_factory=list)
    assignee: int | None = Field(default=None, ge=1, le=MAX_ID)
    requester: int | None = Field(default=None, ge=1, le=MAX_ID)
    tag: str | None = Field(default=None, max_length=100)
    q: str | None = Field(default=None, max_length=200)

    def ticket_filter(self) -> TicketFilter:
        return TicketFilter(
            status=[Status(s) for s in self.status],
            assignee_id=self.assignee,
            requester_id=self.requester,
            tag=self.tag,
            text=self.q,
        )


class BulkSet(BaseModel):
    """The fields a bulk update sets on every ticket it takes."""

    model_config = ConfigDict(extra="forbid")
    status: StatusName | None = None
    priority: PriorityName | None = None
    assignee_ids: list[UserId] | None = Field(default=None, max_length=50)


class ImportParams(BaseModel):
    format: FileFormat


class ExportParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: FileFormat = "csv"
    filter: BulkFilter = Field(default_factory=BulkFilter)


class BulkUpdateParams(BaseModel):
    """By tag or by filter (exactly one): set fields, add tags, remove tags."""

    model_config = ConfigDict(extra="forbid")
    tag: str | None = Field(default=None, min_length=1, max_length=100)
    filter: BulkFilter | None = None
    set: BulkSet = Field(default_factory=BulkSet)
    add_tags: list[str] = Field(default_factory=list, max_length=50)
    remove_tags: list[str] = Field(default_factory=list, max_length=50)

    def ticket_filter(self) -> TicketFilter:
        if self.tag is not None:
            return TicketFilter(tag=self.tag)
        return (self.filter or BulkFilter()).ticket_filter()


class BulkPartParams(BaseModel):
    ticket_ids: list[int]


P = TypeVar("P", bound=BaseModel)


def read_params(kind: type[P], data: Any) -> P:
    """Parameters from untyped input (the command line, a vendor's body): InvalidInput, per field,
    when they do not fit."""
    try:
        return kind.model_validate(data)
    except ValidationError as exc:
        errors = [
            FieldError("/" + "/".join(str(part) for part in error["loc"]), error["msg"])
            for error in exc.errors()
        ]
        raise InvalidInput("the parameters are not valid", errors) from exc
