"""Where a reader of the event log has got to (webhooks' fan-out, mail's): a row per reader, made at
the log's end the first time (so it reads only news), and held by one process at a time."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ticketd.core.event_feed import Position, latest
from ticketd.store.tables import EventFeedCursor


def ensure_cursor(db: Session, name: str) -> EventFeedCursor:
    cursor = db.get(EventFeedCursor, name)
    if cursor is None:
        start = latest(db)
        cursor = EventFeedCursor(name=name, txid=start.txid, event_id=start.event_id)
        db.add(cursor)
        db.flush()
    return cursor


def locked_cursor(db: Session, name: str) -> EventFeedCursor | None:
    """The reader's cursor, locked for this transaction; None when another process holds it
    (PostgreSQL; SQLite writes one transaction at a time)."""
    if db.get_bind().dialect.name == "postgresql":
        query = select(EventFeedCursor).where(EventFeedCursor.name == name).with_for_update(skip_locked=True)
        cursor = db.scalars(query).first()
        if cursor is not None:
            return cursor
        if db.get(EventFeedCursor, name) is not None:
            return None  # another process is reading
        try:
            with db.begin_nested():
                return ensure_cursor(db, name)
        except IntegrityError:
            return None
    return ensure_cursor(db, name)


def move_to(cursor: EventFeedCursor, position: Position) -> None:
    cursor.txid, cursor.event_id = position.txid, position.event_id


def move_to_end(db: Session, cursor: EventFeedCursor) -> None:
    """Nobody listens: the cursor jumps to the log's end without reading (an import's million events)."""
    move_to(cursor, latest(db))
    db.flush()
