"""Tickets: create, read, list, change, move through the lifecycle, comment. Every change is logged."""

from __future__ import annotations

import base64
import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from ticketd.core import etags
from ticketd.core.clock import utcnow
from ticketd.core.errors import FieldError, Forbidden, InvalidInput, NotFound, PreconditionFailed
from ticketd.core.events import EventKind
from ticketd.core.lifecycle import Status, check_reopen, check_transition
from ticketd.core.principal import Principal, Role
from ticketd.core.text import contains, require_storable, storable
from ticketd.core.ticket_fields import BY_NAME, CUSTOMER_SETTABLE, SETTABLE, Kind, TicketField
from ticketd.core.vocabulary import Channel, Priority, TicketType
from ticketd.store import text_index
from ticketd.store.bulk import allocate_ids
from ticketd.store.tables import Comment, Ticket, TicketAssignee, TicketEvent, TicketTag, User
from ticketd.store.text_index import TRIGRAM, IndexedText

# Plain columns a caller may set on create or change (core/ticket_fields.py).
SCALAR_FIELDS = SETTABLE
ENUM_FIELDS: dict[str, type[Priority] | type[TicketType] | type[Channel]] = {
    "priority": Priority,
    "type": TicketType,
    "channel": Channel,
}
# What a customer may set on their own ticket; everything else is for staff.
CUSTOMER_FIELDS = CUSTOMER_SETTABLE
# Text found in more tickets than this is searched by reading tickets in order (list_tickets).
COMMON_TEXT = 10_000
# What a vendor's create form records about a request whoever files it (Huawei's business type,
# sub-type and severity): facts the requester states, not staff decisions, so a face may record them
# for a customer at creation (`classification`), though a customer cannot change them later.
CLASSIFICATION_FIELDS = frozenset(
    {"business_type", "sub_type", "simple_description", "severity", "region", "project"}
)


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


@dataclass
class Changes:
    """Field name to new value, plus the people and tags, as a face decoded them."""

    values: dict[str, Any] = field(default_factory=dict)
    requester_id: int | None = None
    assignee_ids: list[int] | None = None
    tags: list[str] | None = None


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


def create_ticket(
    db: Session,
    principal: Principal,
    changes: Changes,
    *,
    status: Status = Status.NEW,
    classification: Mapping[str, Any] | None = None,
) -> Ticket:
    now = utcnow()
    values = _checked_values(principal, changes.values)
    if classification:
        values.update(_checked_values(principal, classification, customer_fields=CLASSIFICATION_FIELDS))
    if not str(values.get("subject") or "").strip():
        raise InvalidInput("a ticket needs a subject", [FieldError("/subject", "must not be empty")])
    requester_id = principal.user_id if principal.is_customer else (changes.requester_id or principal.user_id)
    _require_user(db, principal, requester_id, "/requester_id")
    (ticket_id,) = allocate_ids(db, 1)
    ticket = Ticket(
        id=ticket_id,
        tenant_id=principal.tenant_id,
        version=1,
        status=status.value,
        requester_id=requester_id,
        subject=values.pop("subject"),
        priority=values.pop("priority", Priority.NORMAL.value),
        type=values.pop("type", TicketType.QUESTION.value),
        channel=values.pop("channel", Channel.API.value),
        content=values.pop("content", ""),
        description=values.pop("description", ""),
        remarks=values.pop("remarks", ""),
        progress=values.pop("progress", 0),
        cc=values.pop("cc", []),
        labels=values.pop("labels", []),
        custom_fields=values.pop("custom_fields", {}),
        created_at=now,
        updated_at=now,
        status_changed_at=now,
        creator_id=principal.user_id,
        modifier_id=principal.user_id,
        **values,
    )
    db.add(ticket)
    db.flush()
    _log(db, ticket, principal, EventKind.CREATED, None, None, status.value, now)
    if changes.assignee_ids:
        _set_assignees(db, principal, ticket, changes.assignee_ids, now)
    if changes.tags:
        _set_tags(ticket, changes.tags, principal, db, now)
    db.flush()
    return ticket


def update_ticket(
    db: Session,
    principal: Principal,
    ticket_id: int,
    changes: Changes,
    *,
    if_match: str | None = None,
    status: Status | None = None,
) -> Ticket:
    ticket = get_ticket(db, principal, ticket_id)
    if if_match is not None and not etags.match(if_match, etag_of(ticket)):
        raise PreconditionFailed("the ticket has changed since it was read")
    now = utcnow()
    values = _checked_values(principal, changes.values)
    if "subject" in values and not str(values["subject"] or "").strip():
        raise InvalidInput("a ticket needs a subject", [FieldError("/subject", "must not be empty")])
    changed = False
    for name, new in values.items():
        old = getattr(ticket, name)
        if _jsonable(old) != _jsonable(new):
            setattr(ticket, name, new)
            _log(db, ticket, principal, EventKind.FIELD_CHANGED, name, old, new, now)
            changed = True
    if changes.requester_id is not None and changes.requester_id != ticket.requester_id:
        _require_staff(principal, "/requester_id")
        _require_user(db, principal, changes.requester_id, "/requester_id")
        _log(
            db,
            ticket,
            principal,
            EventKind.FIELD_CHANGED,
            "requester_id",
            ticket.requester_id,
            changes.requester_id,
            now,
        )
        ticket.requester_id = changes.requester_id
        changed = True
    if changes.assignee_ids is not None and changes.assignee_ids != ticket.assignee_ids:
        _require_staff(principal, "/assignee_ids")
        _set_assignees(db, principal, ticket, changes.assignee_ids, now)
        changed = True
    if changes.tags is not None and sorted(set(changes.tags)) != ticket.tags:
        _require_staff(principal, "/tags")
        _set_tags(ticket, changes.tags, principal, db, now)
        changed = True
    if status is not None and status.value != ticket.status:
        _apply_status(db, principal, ticket, status, now, reopen=False)
        changed = True
    if changed:
        _touch(ticket, principal, now)
    db.flush()
    return ticket


def transition(
    db: Session, principal: Principal, ticket_id: int, target: Status, *, reopen: bool = False
) -> Ticket:
    ticket = get_ticket(db, principal, ticket_id)
    now = utcnow()
    _apply_status(db, principal, ticket, target, now, reopen=reopen)
    _touch(ticket, principal, now)
    db.flush()
    return ticket


def _apply_status(
    db: Session, principal: Principal, ticket: Ticket, target: Status, now: datetime, *, reopen: bool
) -> None:
    current = Status(ticket.status)
    if principal.is_customer and not (reopen or target in (Status.CANCELED, Status.CLOSED)):
        # A requester may withdraw, accept (close) or reopen their ticket; the rest is staff work.
        raise Forbidden("customers may only cancel, close or reopen their tickets")
    if reopen:
        check_reopen(current)
        target = Status.OPEN
        ticket.reopened_at = now
    else:
        check_transition(current, target)
    ticket.status = target.value
    ticket.status_changed_at = now
    if target is Status.OPEN:
        ticket.opened_at = ticket.opened_at if ticket.opened_at and not reopen else now
        ticket.opener_id = principal.user_id
    elif target is Status.PENDING:
        ticket.pending_at = now
    elif target is Status.SOLVED:
        ticket.solved_at = now
        ticket.solver_id = principal.user_id
    elif target in (Status.CLOSED, Status.CANCELED, Status.INVALID):
        ticket.closed_at = now
        ticket.closer_id = principal.user_id
    _log(
        db,
        ticket,
        principal,
        EventKind.REOPENED if reopen else EventKind.STATUS_CHANGED,
        "status",
        current.value,
        target.value,
        now,
    )


def add_comment(db: Session, principal: Principal, ticket_id: int, *, body: str, public: bool) -> Comment:
    ticket = get_ticket(db, principal, ticket_id)
    if not body.strip():
        raise InvalidInput("a comment needs a body", [FieldError("/body", "must not be empty")])
    require_storable(body, "/body")
    if principal.is_customer and not public:
        raise Forbidden("customers cannot write internal comments")
    now = utcnow()
    comment = Comment(
        tenant_id=ticket.tenant_id,
        ticket_id=ticket.id,
        author_id=principal.user_id,
        body=body,
        public=public,
        created_at=now,
    )
    db.add(comment)
    db.flush()
    ticket.commented_at = now
    if (
        principal.is_staff
        and public
        and ticket.responder_id is None
        and principal.user_id != ticket.requester_id
    ):
        ticket.responder_id = principal.user_id
    _log(
        db,
        ticket,
        principal,
        EventKind.COMMENTED,
        None,
        None,
        {"comment_id": comment.id, "public": public},
        now,
    )
    _touch(ticket, principal, now)
    db.flush()
    return comment


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
        return [
            e for e in events if not (e.kind == EventKind.COMMENTED and not (e.new_value or {}).get("public"))
        ]
    return list(events)


def delete_ticket(db: Session, principal: Principal, ticket_id: int) -> None:
    ticket = get_ticket(db, principal, ticket_id)
    _require_staff(principal, "")
    _log(db, ticket, principal, EventKind.DELETED, None, ticket.status, None, utcnow())
    db.delete(ticket)
    db.flush()


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


def _checked_values(
    principal: Principal, values: Mapping[str, Any], *, customer_fields: frozenset[str] = CUSTOMER_FIELDS
) -> dict[str, Any]:
    errors: list[FieldError] = []
    checked: dict[str, Any] = {}
    for name, value in values.items():
        if name not in SCALAR_FIELDS:
            errors.append(FieldError(f"/{name}", "not a field that can be set"))
            continue
        if principal.is_customer and name not in customer_fields:
            errors.append(FieldError(f"/{name}", "customers cannot set this field"))
            continue
        enum = ENUM_FIELDS.get(name)
        if enum is not None:
            allowed = [member.value for member in enum]
            if value not in allowed:
                errors.append(FieldError(f"/{name}", f"must be one of {', '.join(allowed)}"))
                continue
        if name == "progress" and not (
            isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100
        ):
            errors.append(FieldError("/progress", "must be an integer from 0 to 100"))
            continue
        try:
            checked[name] = checked_value(BY_NAME[name], value)
        except ValueError as exc:
            errors.append(FieldError(f"/{name}", str(exc)))
    if errors:
        raise InvalidInput("some fields are not valid", errors)
    return checked


MAX_LIST_ITEMS = 50
MAX_ITEM_LENGTH = 200
MAX_OBJECT_BYTES = 65_536


def checked_value(field: TicketField, value: Any) -> Any:
    """A value of the field's kind, with `null` as the field defines it; ValueError says why not."""
    if value is None:
        if field.kind is Kind.PERCENT:
            raise ValueError("must be an integer from 0 to 100")
        return copy.copy(field.empty)
    if field.kind is Kind.TEXT:
        if not isinstance(value, str):
            raise ValueError("must be text")
        if not storable(value):
            raise ValueError("must not contain NUL characters")
        if field.max_length is not None and len(value) > field.max_length:
            raise ValueError(f"must be at most {field.max_length} characters")
    elif field.kind is Kind.TEXT_LIST:
        if not isinstance(value, list) or not all(isinstance(item, str) and storable(item) for item in value):
            raise ValueError("must be a list of text (without NUL characters)")
        if len(value) > MAX_LIST_ITEMS or any(len(item) > MAX_ITEM_LENGTH for item in value):
            raise ValueError(f"at most {MAX_LIST_ITEMS} items of at most {MAX_ITEM_LENGTH} characters")
    elif field.kind is Kind.OBJECT:
        if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
            raise ValueError("must be an object")
        try:
            size = len(orjson.dumps(value))
        except (TypeError, orjson.JSONEncodeError) as exc:
            raise ValueError("must be an object of JSON values") from exc
        if size > MAX_OBJECT_BYTES:
            raise ValueError(f"must take at most {MAX_OBJECT_BYTES} bytes as JSON")
    elif field.kind is Kind.PERCENT:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
            raise ValueError("must be an integer from 0 to 100")
    elif field.kind is Kind.TIME:
        if not isinstance(value, datetime):
            raise ValueError("must be a date and time")
        # A time without a zone is taken as UTC, as the API's times are.
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return value


def _require_staff(principal: Principal, pointer: str) -> None:
    if not principal.is_staff:
        raise Forbidden(f"only staff may change {pointer.lstrip('/') or 'this'}")


def _require_user(db: Session, principal: Principal, user_id: int, pointer: str) -> User:
    user = db.get(User, user_id)
    if user is None or user.tenant_id != principal.tenant_id:
        raise InvalidInput("unknown user", [FieldError(pointer, f"no user {user_id}")])
    return user


def _set_assignees(
    db: Session, principal: Principal, ticket: Ticket, user_ids: list[int], now: datetime
) -> None:
    ordered = list(dict.fromkeys(user_ids))
    for user_id in ordered:
        user = _require_user(db, principal, user_id, "/assignee_ids")
        if user.role == Role.CUSTOMER.value:
            raise InvalidInput(
                "customers cannot be assignees",
                [FieldError("/assignee_ids", f"user {user_id} is a customer")],
            )
    old = ticket.assignee_ids
    ticket.assignee_links = [TicketAssignee(user_id=uid, position=i) for i, uid in enumerate(ordered)]
    ticket.assigned_at = now if ordered else None
    ticket.handler_id = ordered[0] if ordered else None
    _log(db, ticket, principal, EventKind.FIELD_CHANGED, "assignee_ids", old, ordered, now)


def _set_tags(ticket: Ticket, tags: list[str], principal: Principal, db: Session, now: datetime) -> None:
    cleaned = sorted({require_storable(tag, "/tags").strip() for tag in tags if tag.strip()})
    if any(len(tag) > 100 for tag in cleaned):
        raise InvalidInput("tags are at most 100 characters", [FieldError("/tags", "a tag is too long")])
    old = ticket.tags
    ticket.tag_links = [TicketTag(tag=tag, tenant_id=ticket.tenant_id) for tag in cleaned]
    _log(db, ticket, principal, EventKind.FIELD_CHANGED, "tags", old, cleaned, now)


def _touch(ticket: Ticket, principal: Principal, now: datetime) -> None:
    ticket.version += 1
    ticket.updated_at = now
    ticket.modifier_id = principal.user_id


def _log(
    db: Session,
    ticket: Ticket,
    principal: Principal,
    kind: EventKind,
    field_name: str | None,
    old: Any,
    new: Any,
    now: datetime,
) -> None:
    db.add(
        TicketEvent(
            tenant_id=ticket.tenant_id,
            ticket_id=ticket.id,
            actor_id=principal.user_id,
            at=now,
            kind=kind.value,
            field=field_name,
            old_value=_jsonable(old),
            new_value=_jsonable(new),
        )
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value
