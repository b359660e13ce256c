"""Reading the event log in an order no later commit can fall behind.

A reader of the log (the webhooks' fan-out, the event stream) remembers a position and asks for
what comes after it. On PostgreSQL ids are handed out at insert time, so id order is not commit
order: id 11 may be visible while id 10's transaction is still running. Each event therefore
carries its transaction's id (`txid`), and readers take events in (txid, id) order and only from
transactions older than every transaction still running (the snapshot's xmin). Any transaction
that commits later has a txid at or above that bound, so it lands after every position read so far.
SQLite has one writer at a time, ids are in commit order, txid is 0 and there is no bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, TypeVarTuple

from sqlalchemy import ColumnElement, Select, and_, or_, select, text, tuple_
from sqlalchemy.orm import Session

from ticketd.core.events import PUBLIC_WHEN_MARKED, EventKind
from ticketd.store.tables import Ticket, TicketEvent

Row = TypeVarTuple("Row")


class Position(NamedTuple):
    txid: int
    event_id: int


START = Position(0, 0)


def _horizon(db: Session) -> int | None:
    """The lowest transaction id that may still commit (PostgreSQL); None where commits are ordered."""
    if db.get_bind().dialect.name != "postgresql":
        return None
    return int(db.scalar(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")) or 0)


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """An event as its readers take it: plain values, not a mapped object (loading those cost the
    webhooks' fan-out 57 µs an event, more than all it does with one)."""

    id: int
    tenant_id: int
    ticket_id: int
    actor_id: int | None
    at: datetime
    kind: str
    field: str | None
    old_value: Any
    new_value: Any
    txid: int


@dataclass(frozen=True, slots=True)
class FeedScope:
    """Whose events a reader may have: one tenant's, and for a customer only the public events of
    the tickets it requested (what the REST history shows it)."""

    tenant_id: int
    requester_id: int | None = None


_COLUMNS = tuple(getattr(TicketEvent, name) for name in FeedEvent.__slots__)


def events_after(
    db: Session, position: Position, limit: int, scope: FeedScope | None = None
) -> list[FeedEvent]:
    """The next events after `position`, in feed order, of transactions that can no longer commit;
    only `scope`'s when one is given (the query seeks the tenant's part of the log)."""
    query = _scoped(select(*_COLUMNS), scope).limit(limit)
    horizon = _horizon(db)
    if horizon is None:
        # txid is 0 throughout: SQLite would take `(txid, id) > (0, n)` as `txid >= 0` and read the
        # whole index (a millisecond at 13,000 events, growing with the log) where `id > n` seeks.
        query = query.where(TicketEvent.id > position.event_id).order_by(TicketEvent.id)
        if scope is not None:
            # Lets the seek use (tenant_id, txid, id); every SQLite event has txid 0.
            query = query.where(TicketEvent.txid == 0)
    else:
        query = query.where(
            tuple_(TicketEvent.txid, TicketEvent.id) > tuple_(position.txid, position.event_id),
            TicketEvent.txid < horizon,
        ).order_by(TicketEvent.txid, TicketEvent.id)
    return [FeedEvent(*row) for row in db.execute(query)]


def window_start(db: Session, scope: FeedScope, size: int) -> Position | None:
    """The position just before the newest `size` events of `scope`: a replay that starts earlier
    is cut to start here. None when the scope has no more than `size` events."""
    query = _scoped(select(TicketEvent.txid, TicketEvent.id), scope)
    horizon = _horizon(db)
    if horizon is not None:
        query = query.where(TicketEvent.txid < horizon)
    else:
        query = query.where(TicketEvent.txid == 0)
    newest_first = query.order_by(TicketEvent.txid.desc(), TicketEvent.id.desc())
    row = db.execute(newest_first.offset(size).limit(1)).first()
    return None if row is None else Position(int(row[0]), int(row[1]))


def _scoped(query: Select[*Row], scope: FeedScope | None) -> Select[*Row]:
    if scope is None:
        return query
    query = query.where(TicketEvent.tenant_id == scope.tenant_id)
    if scope.requester_id is None:
        return query
    requested = select(Ticket.id).where(
        Ticket.tenant_id == scope.tenant_id, Ticket.requester_id == scope.requester_id
    )
    return query.where(TicketEvent.ticket_id.in_(requested), _public())


def _public() -> ColumnElement[bool]:
    """SQL for events.seen_by_requester: not a deletion, and a comment or file only when public."""
    marked_public = TicketEvent.new_value["public"].as_boolean()
    return and_(
        TicketEvent.kind != EventKind.DELETED.value,
        or_(TicketEvent.kind.not_in([kind.value for kind in PUBLIC_WHEN_MARKED]), marked_public.is_(True)),
    )


def position_of(event: FeedEvent) -> Position:
    return Position(event.txid, event.id)


def latest(db: Session) -> Position:
    """The position after every event readable now: where a reader starts that wants only news."""
    query = select(TicketEvent.txid, TicketEvent.id).order_by(TicketEvent.txid.desc(), TicketEvent.id.desc())
    horizon = _horizon(db)
    if horizon is not None:
        query = query.where(TicketEvent.txid < horizon)
    row = db.execute(query.limit(1)).first()
    return START if row is None else Position(int(row[0]), int(row[1]))


def position_of_id(db: Session, event_id: int) -> Position | None:
    """The position of an event named by its id (an event stream's `Last-Event-ID`)."""
    txid = db.scalar(select(TicketEvent.txid).where(TicketEvent.id == event_id))
    return None if txid is None else Position(int(txid), event_id)
