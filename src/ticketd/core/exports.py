"""Exports: the tickets matching a filter, as CSV or JSON lines, written in chunks a worker can resume."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ticketd.core import tickets
from ticketd.core.errors import Forbidden
from ticketd.core.operation_params import ExportParams
from ticketd.core.principal import Principal
from ticketd.core.ticket_fields import EXPORT_COLUMNS
from ticketd.store.tables import Ticket

COLUMNS = EXPORT_COLUMNS


def check_export(principal: Principal) -> None:
    if not principal.is_staff:
        raise Forbidden("only staff may export tickets")


def count_matching(db: Session, principal: Principal, params: ExportParams) -> int:
    conditions = tickets.filter_conditions(principal, params.filter.ticket_filter())
    return db.scalar(select(func.count()).select_from(Ticket).where(*conditions)) or 0


def next_chunk(
    db: Session, principal: Principal, params: ExportParams, after_id: int, size: int
) -> list[Ticket]:
    conditions = tickets.filter_conditions(principal, params.filter.ticket_filter())
    query = select(Ticket).where(*conditions, Ticket.id > after_id).order_by(Ticket.id).limit(size)
    return list(db.scalars(query))


def render(rows: list[Ticket], fmt: str, *, header: bool) -> bytes:
    if fmt == "jsonl":
        return b"".join(orjson.dumps(_record(t), option=orjson.OPT_UTC_Z) + b"\n" for t in rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(COLUMNS)
    for t in rows:
        writer.writerow([_cell(name, getattr(t, name)) for name in COLUMNS])
    return out.getvalue().encode()


def _record(t: Ticket) -> dict[str, Any]:
    return {name: getattr(t, name) for name in COLUMNS}


def _cell(name: str, value: Any) -> Any:
    """A CSV cell: empty for none; tags joined by commas, as imports read them; other lists by
    semicolons; times in ISO 8601; text that a spreadsheet would run as a formula, neutralised."""
    if value is None:
        return ""
    if isinstance(value, list):
        return _text_cell(("," if name == "tags" else ";").join(map(str, value)))
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return _text_cell(value)
    return value


# OWASP's CSV injection rule: a cell starting with one of these is a formula to a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(text: str) -> str:
    """A leading apostrophe makes a spreadsheet show the text as it is instead of running it."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
