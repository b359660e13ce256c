"""Reading tickets: one by id, pages of them by filter, their counts by status, their comments and
history; each scoped to what the principal may see."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import orjson
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from ticketd.core import etags
from ticketd.core.errors import FieldError, InvalidInput, NotFound
from ticketd.core.events import seen_by_requester
from ticketd.core.lifecycle import Status
from ticketd.core.principal import Principal
from ticketd.core.text import contains
from ticketd.store import text_index
from ticketd.store.tables import Comment, Ticket, TicketAssignee, TicketEvent, TicketTag
from ticketd.store.text_index import TRIGRAM, IndexedText

# Text found in more tickets than this is searched by reading tickets in order (list_tickets).
COMMON_TEXT = 10_000


@dataclass(frozen=True)
class TicketFilter:
    status: Sequence[Status] = ()
    assignee_id: int | None = None
    requester_id: int | None = None
    tag: str | None = None
    text: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    updated_from: datetime | None = None
    updated_to: datetime | None = None


@dataclass(frozen=True)
class Page:
    items: list[Ticket]
    total: int
    next_cursor: str | None


def etag_of(ticket: Ticket) -> str:
    return etags.ticket_etag(ticket.id, ticket.version)


def get_ticket(db: Session, principal: Principal, ticket_id: int) -> Ticket:
    ticket = db.get(Ticket, ticket_id)
    # Another tenant's ticket, or another customer's, answers exactly as a missing one.
    if ticket is None or not _visible(principal, ticket):
        raise NotFound(f"ticket {ticket_id} does not exist")
    return ticket


def _visible(principal: Principal, ticket: Ticket) -> bool:
    if ticket.tenant_id != principal.tenant_id:
        return False
    return not principal.is_customer or ticket.requester_id == principal.user_id


def list_comments(db: Session, principal: Principal, ticket_id: int) -> list[Comment]:
    ticket = get_ticket(db, principal, ticket_id)
    return list(
        db.scalars(select(Comment).where(*_comment_conditions(principal, ticket)).order_by(Comment.id))
    )


def count_comments(db: Session, principal: Principal, ticket: Ticket) -> int:
    """How many of the ticket's comments this principal may see (a customer: the public ones)."""
    query = select(func.count()).select_from(Comment).where(*_comment_conditions(principal, ticket))
    return db.scalar(query) or 0


def _comment_conditions(principal: Principal, ticket: Ticket) -> list[ColumnElement[bool]]:
    conditions = [Comment.tenant_id == ticket.tenant_id, Comment.ticket_id == ticket.id]
    if principal.is_customer:
        conditions.append(Comment.public.is_(True))
    return conditions


def list_events(db: Session, principal: Principal, ticket_id: int) -> list[TicketEvent]:
    ticket = get_ticket(db, principal, ticket_id)
    events = db.scalars(
        select(TicketEvent)
        .where(TicketEvent.tenant_id == ticket.tenant_id, TicketEvent.ticket_id == ticket.id)
        .order_by(TicketEvent.id)
    )
    if principal.is_customer:
        return [event for event in events if seen_by_requester(event.kind, event.new_value)]
    return list(events)


def list_tickets(
    db: Session,
    principal: Principal,
    filters: TicketFilter,
    *,
    limit: int,
    cursor: str | None,
    count: bool = True,
) -> Page:
    """A page of tickets, newest activity first; with `count` false, `total` is -1 (the caller
    counts its own way: the console's capped counts by status)."""
    conditions = filter_conditions(principal, filters)
    total = (db.scalar(select(func.count()).select_from(Ticket).where(*conditions)) or 0) if count else -1
    if _common_text(db, principal, filters):
        # A common word's page is found sooner by reading tickets in the page's order and testing
        # each (at a million tickets, a word in 83,000: 1 ms, against 70 through the index).
        conditions = filter_conditions(principal, filters, use_text_index=False)
    query: Select[int] = select(Ticket.id).where(*conditions)
    if cursor:
        updated_at, last_id = _decode_cursor(cursor)
        query = query.where(
            or_(Ticket.updated_at < updated_at, and_(Ticket.updated_at == updated_at, Ticket.id < last_id))
        )
    # Newest activity first; the id breaks ties so the cursor is exact. The page's ids first, then
    # its rows: when a filter names the tickets (an assignee's, a tag's), ordering them reads only
    # the status-lookup index (id, ..., updated_at), not thousands of whole rows.
    ids = list(db.scalars(query.order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(limit + 1)))
    loaded = {ticket.id: ticket for ticket in db.scalars(select(Ticket).where(Ticket.id.in_(ids)))}
    rows = [loaded[ticket_id] for ticket_id in ids]
    next_cursor = _encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return Page(items=rows[:limit], total=total, next_cursor=next_cursor)


@dataclass(frozen=True)
class StatusCounts:
    """Tickets by status. A count above the cap it was asked for means "more than the cap"; with
    `at_least`, every count is a lower bound (a search matched more tickets than were counted)."""

    by_status: dict[str, int]
    at_least: bool = False


def count_by_status(
    db: Session, principal: Principal, filters: TicketFilter, *, cap: int | None = None
) -> StatusCounts:
    """How many tickets match the filters (their status filter aside), by status.

    With a filter that names a set through its own index (a requester, an assignee, a tag, text
    the text index can look up), one grouped count over that set. Otherwise one count a status,
    each stopping at `cap` + 1 ("more than cap") when a cap is given, so that counting costs at
    most that many index entries a status however large the queue. With a cap, text found in more
    than `cap` tickets is counted among `cap` + 1 of them (lower bounds: the newest on SQLite, the
    first the trigram indexes name on PostgreSQL), unless another filter bounds the set: then that
    set is read and the text tested ticket by ticket.
    """
    unfiltered = replace(filters, status=())
    conditions = filter_conditions(principal, unfiltered)
    names_a_set = (
        filters.requester_id is not None or filters.assignee_id is not None or filters.tag is not None
    )
    text = filters.text if filters.text is not None and len(filters.text) >= TRIGRAM else None
    if names_a_set or text is not None:
        at_least = False
        if text is not None and cap is not None and _common_text(db, principal, filters, cap):
            if names_a_set:
                conditions = filter_conditions(principal, unfiltered, use_text_index=False)
            else:
                conditions = filter_conditions(principal, replace(unfiltered, text=None))
                exact = contains((Ticket.subject, Ticket.content), text, "/q")
                conditions.append(IndexedText(text, exact, newest=cap + 1, tenant_id=principal.tenant_id))
                at_least = True
        # Grouped by an expression, not the column: grouped by the column, the planner walks the
        # (tenant, status) index for its order and reads every ticket instead of the small set.
        grouped = Ticket.status.concat("")
        if text is not None and cap is not None and not names_a_set and text_index.counts_first_matches(db):
            first = select(grouped.label("status")).where(*conditions).limit(cap + 1).subquery()
            with text_index.through_trigram_indexes(db):
                rows = db.execute(select(first.c.status, func.count()).group_by(first.c.status))
                found = {status: count for status, count in rows}
            at_least = sum(found.values()) > cap
        else:
            rows = db.execute(select(grouped, func.count()).where(*conditions).group_by(grouped))
            found = {status: count for status, count in rows}
        return StatusCounts({status.value: found.get(status.value, 0) for status in Status}, at_least)
    counts = {}
    for status in Status:
        matching = select(Ticket.id).where(*conditions, Ticket.status == status.value)
        if cap is not None:
            matching = matching.limit(cap + 1)
        counts[status.value] = db.scalar(select(func.count()).select_from(matching.subquery())) or 0
    return StatusCounts(counts)


def _common_text(db: Session, principal: Principal, filters: TicketFilter, bound: int | None = None) -> bool:
    """Whether the text filter is found in more than `bound` tickets (SQLite's text index says,
    in a millisecond at most); see `list_tickets` and `count_by_status` for what follows."""
    if bound is None:
        bound = COMMON_TEXT
    if filters.text is None:
        return False
    return text_index.matches_more_than(db, filters.text, bound, tenant_id=principal.tenant_id)


def visible_conditions(principal: Principal) -> list[ColumnElement[bool]]:
    """The tickets this principal may see: its tenant's, and for a customer only their own."""
    conditions: list[ColumnElement[bool]] = [Ticket.tenant_id == principal.tenant_id]
    if principal.is_customer:
        conditions.append(Ticket.requester_id == principal.user_id)
    return conditions


def filter_conditions(
    principal: Principal, filters: TicketFilter, *, use_text_index: bool = True
) -> list[ColumnElement[bool]]:
    """`use_text_index` false: text tested ticket by ticket, for a caller that reads few tickets."""
    conditions = visible_conditions(principal)
    if filters.status:
        conditions.append(Ticket.status.in_([s.value for s in filters.status]))
    if filters.requester_id is not None:
        conditions.append(Ticket.requester_id == filters.requester_id)
    if filters.assignee_id is not None:
        conditions.append(
            Ticket.id.in_(
                select(TicketAssignee.ticket_id).where(TicketAssignee.user_id == filters.assignee_id)
            )
        )
    if filters.tag is not None:
        conditions.append(
            Ticket.id.in_(
                select(TicketTag.ticket_id).where(
                    TicketTag.tenant_id == principal.tenant_id, TicketTag.tag == filters.tag
                )
            )
        )
    if filters.text:
        conditions.append(_text_condition(filters.text, use_text_index))
    if filters.created_from:
        conditions.append(Ticket.created_at >= filters.created_from)
    if filters.created_to:
        conditions.append(Ticket.created_at < filters.created_to)
    if filters.updated_from:
        conditions.append(Ticket.updated_at >= filters.updated_from)
    if filters.updated_to:
        conditions.append(Ticket.updated_at < filters.updated_to)
    return conditions


def _text_condition(text: str, use_text_index: bool) -> ColumnElement[bool]:
    """Subject or content contains the text; through the store's text index when the text is long
    enough for it (the index covers exactly these two columns) and the caller wants it."""
    condition = contains((Ticket.subject, Ticket.content), text, "/q")
    return IndexedText(text, condition) if use_text_index and len(text) >= TRIGRAM else condition


def _encode_cursor(ticket: Ticket) -> str:
    raw = orjson.dumps([ticket.updated_at.isoformat(), ticket.id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, last_id = orjson.loads(raw)
        return datetime.fromisoformat(stamp), int(last_id)
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise InvalidInput(
            "the cursor is not valid", [FieldError("/cursor", "not a cursor this server issued")]
        ) from exc
