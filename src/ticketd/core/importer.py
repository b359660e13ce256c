"""Reading tickets from CSV or JSON lines. Bad rows are reported by number; good rows are kept."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ticketd.core.clock import as_utc, utcnow
from ticketd.core.errors import InvalidInput
from ticketd.core.ids import MAX_ID
from ticketd.core.ticket_fields import IMPORT_COLUMNS
from ticketd.store.bulk import VALUE_COLUMNS, NewTicket

Format = Literal["csv", "jsonl"]
# The import columns that go to the store as they are (the rest NewTicket carries by name).
TEXT_COLUMNS = set(IMPORT_COLUMNS) & set(VALUE_COLUMNS)


class ImportRow(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    subject: str = Field(min_length=1, max_length=500)
    content: str = Field(default="", max_length=100_000)
    description: str = Field(default="", max_length=100_000)
    status: Literal["new", "open", "pending", "solved", "closed", "canceled", "invalid"] = "new"
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    type: Literal["question", "incident", "problem", "request", "task"] = "question"
    channel: Literal["email", "web", "phone", "chat", "api", "social", "other"] = "other"
    category: str | None = Field(default=None, max_length=200)
    product: str | None = Field(default=None, max_length=200)
    project: str | None = Field(default=None, max_length=200)
    region: str | None = Field(default=None, max_length=200)
    contact: str | None = Field(default=None, max_length=320)
    organisation: str | None = Field(default=None, max_length=200)
    severity: str | None = Field(default=None, max_length=32)
    requester_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    tags: list[str] = Field(default_factory=list, max_length=50)
    created_at: datetime | None = None

    @field_validator("tags", mode="before")
    @classmethod
    def split_tags(cls, value: Any) -> Any:
        # CSV has no lists: tags arrive as "a,b,c".
        if isinstance(value, str):
            return [tag.strip() for tag in value.split(",") if tag.strip()]
        return value


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based data row number (the CSV header line is not counted)
    field: str
    reason: str


@dataclass(frozen=True)
class ParsedRow:
    row: int
    ticket: ImportRow


def detect_format(name: str, head: bytes) -> Format:
    """By file name, else by content; anything that is neither is refused at once."""
    lowered = name.lower()
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if lowered.endswith(".csv"):
        return "csv"
    stripped = head.lstrip()
    if stripped.startswith(b"{"):
        return "jsonl"
    if b"\x00" not in head and b"subject" in head.split(b"\n", 1)[0].lower():
        return "csv"
    raise InvalidInput("the file is neither CSV (with a header row naming 'subject') nor JSON lines")


def parse_rows(stream: IO[bytes], fmt: Format) -> Iterator[ParsedRow | RowError]:
    raw_rows = _csv_rows(stream) if fmt == "csv" else _jsonl_rows(stream)
    for number, raw in raw_rows:
        if isinstance(raw, RowError):
            yield raw
            continue
        try:
            yield ParsedRow(number, ImportRow.model_validate(raw))
        except ValidationError as exc:
            for error in exc.errors():
                field = ".".join(str(p) for p in error["loc"]) or "(row)"
                yield RowError(number, field, error["msg"])


def _csv_rows(stream: IO[bytes]) -> Iterable[tuple[int, dict[str, Any] | RowError]]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    try:
        reader = csv.DictReader(text)
        if reader.fieldnames is None or "subject" not in [f.strip() for f in reader.fieldnames]:
            raise InvalidInput("the CSV file needs a header row with a 'subject' column")
        for number, record in enumerate(reader, start=1):
            if None in record:
                yield number, RowError(number, "(row)", "more values than header columns")
                continue
            yield number, {k.strip(): v for k, v in record.items() if k and v not in (None, "")}
    except UnicodeDecodeError as exc:
        raise InvalidInput("the CSV file is not UTF-8 text") from exc
    except csv.Error as exc:
        raise InvalidInput(f"the CSV file is malformed: {exc}") from exc
    finally:
        text.detach()


def _jsonl_rows(stream: IO[bytes]) -> Iterable[tuple[int, dict[str, Any] | RowError]]:
    number = 0
    for line in stream:
        if not line.strip():
            continue
        number += 1
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            yield number, RowError(number, "(row)", "not a JSON object")
            continue
        if not isinstance(value, dict):
            yield number, RowError(number, "(row)", "not a JSON object")
            continue
        yield number, value


def to_new_ticket(row: ImportRow, actor_id: int | None) -> NewTicket:
    created = as_utc(row.created_at or utcnow())
    values = row.model_dump(include=TEXT_COLUMNS)
    return NewTicket(
        subject=row.subject,
        status=row.status,
        priority=row.priority,
        type=row.type,
        channel=row.channel,
        created_at=created,
        requester_id=row.requester_id or actor_id,
        creator_id=actor_id,
        values=values,
        tags=row.tags,
    )
