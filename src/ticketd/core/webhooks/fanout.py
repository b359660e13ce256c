"""Messages come into being only from committed changes.

Ticket changes: the fan-out reads the event log after its cursor (core/event_feed.py) and, in one
transaction, writes a message for each event some endpoint of its tenant wants, a delivery for
each such endpoint, and the cursor's new position. A fan-out killed midway commits nothing, and
the next one reads the same events again.

Operations finishing and endpoints being disabled are not in the event log: their messages are
written by `announce`, in the transaction of the change itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from ticketd.core import feed_cursors
from ticketd.core.clock import utcnow
from ticketd.core.event_feed import Position, events_after, latest, position_of
from ticketd.core.webhooks import messages
from ticketd.store.tables import (
    EventFeedCursor,
    Operation,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
)

FEED = "webhooks"
PENDING = "pending"


def wants(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return not endpoint.events or event_type in endpoint.events


def ensure_cursor(db: Session) -> EventFeedCursor:
    """The fan-out's cursor; made at the log's end the first time, so only news is sent."""
    return feed_cursors.ensure_cursor(db, FEED)


def news_for_fan_out(db: Session) -> bool:
    """Whether the fan-out has anything to do: its cursor to make, or news for some endpoint."""
    cursor = db.get(EventFeedCursor, FEED)
    if cursor is None:
        return True
    return _any_endpoint(db) and bool(events_after(db, Position(cursor.txid, cursor.event_id), 1))


def start_listening(db: Session) -> None:
    """Called before an endpoint is added or enabled: if none was listening, the fan-out's cursor
    moves to the log's end, so it never reads what was written while nobody listened."""
    cursor = ensure_cursor(db)
    if not _any_endpoint(db):
        end = latest(db)
        cursor.txid, cursor.event_id = end.txid, end.event_id
        db.flush()


def fan_out(db: Session, *, first_delay: timedelta, limit: int = 500) -> int:
    """Turns the next events into messages and deliveries; how many events were read. The caller
    commits. Returns 0 if another process holds the cursor (PostgreSQL) or nothing is new."""
    cursor = _locked_cursor(db)
    if cursor is None:
        return 0
    if not _any_endpoint(db):
        # Nobody listens: the cursor jumps to the end, without reading (an import's million events).
        end = latest(db)
        cursor.txid, cursor.event_id = end.txid, end.event_id
        db.flush()
        return 0
    events = events_after(db, Position(cursor.txid, cursor.event_id), limit)
    if not events:
        return 0
    now = utcnow()
    endpoints = _endpoints_by_tenant(db, {event.tenant_id for event in events})
    if endpoints:
        batch = _Batch()
        wanted = [event for event in events if event.tenant_id in endpoints]
        subjects = messages.load_subjects(db, wanted)
        for event in wanted:
            event_type = messages.type_of(event)
            targets = [
                endpoint
                for endpoint in endpoints[event.tenant_id]
                if wants(endpoint, event_type) and event.at >= endpoint.created_at
            ]
            if not targets:
                continue
            data = subjects.data_of(event)
            batch.add(
                event.tenant_id,
                event_type,
                data,
                targets,
                now,
                first_delay,
                event_id=event.id,
                timestamp=event.at,
            )
        batch.insert(db)
    last = position_of(events[-1])
    cursor.txid, cursor.event_id = last.txid, last.event_id
    db.flush()
    return len(events)


def announce(
    db: Session,
    *,
    tenant_id: int,
    event_type: messages.EventType,
    data: Mapping[str, Any],
    first_delay: timedelta = timedelta(0),
    exclude_endpoint: str | None = None,
) -> str | None:
    """A message about a change made in this transaction, to the tenant's endpoints that want it."""
    targets = [
        endpoint
        for endpoint in _endpoints_by_tenant(db, {tenant_id}).get(tenant_id, [])
        if wants(endpoint, event_type) and endpoint.id != exclude_endpoint
    ]
    if not targets:
        return None
    batch = _Batch()
    message_id = batch.add(tenant_id, event_type, data, targets, utcnow(), first_delay, event_id=None)
    batch.insert(db)
    return message_id


def announce_finished(db: Session, operation: Operation) -> None:
    """`operation.completed` or `operation.failed`, in the transaction that finishes the operation."""
    event_type = (
        messages.EventType.OPERATION_COMPLETED
        if operation.status == "completed"
        else messages.EventType.OPERATION_FAILED
    )
    data = {
        "operation": {
            "id": operation.id,
            "kind": operation.kind,
            "status": operation.status,
            # An import's rejected rows are in its result, read from the API; a message names a few.
            "result": _brief(operation.result),
            "error": operation.error,
            "created_at": messages.stamp(operation.created_at),
            "finished_at": messages.stamp(operation.finished_at),
        }
    }
    announce(db, tenant_id=operation.tenant_id, event_type=event_type, data=data)


def _brief(result: dict[str, Any] | None) -> dict[str, Any] | None:
    if result is None or not isinstance(result.get("errors"), list):
        return result
    return {**result, "errors": result["errors"][:10]}


class _Batch:
    """Messages and their deliveries, inserted together: messages first, for the foreign keys."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []

    def add(
        self,
        tenant_id: int,
        event_type: str,
        data: Mapping[str, Any],
        targets: Iterable[WebhookEndpoint],
        now: datetime,
        first_delay: timedelta,
        *,
        event_id: int | None,
        timestamp: datetime | None = None,
    ) -> str:
        """`timestamp`: when the change happened (the body's `timestamp`), if not now."""
        message_id = messages.new_message_id()
        self.messages.append(
            {
                "id": message_id,
                "tenant_id": tenant_id,
                "type": event_type,
                "event_id": event_id,
                "payload": messages.body(event_type, timestamp or now, data),
                "created_at": now,
            }
        )
        self.deliveries.extend(
            {
                "tenant_id": tenant_id,
                "message_id": message_id,
                "endpoint_id": endpoint.id,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now + first_delay,
                "created_at": now,
            }
            for endpoint in targets
        )
        return message_id

    def insert(self, db: Session) -> None:
        if self.messages:
            # Table inserts, not the ORM's bulk path: a third of the cost, and nothing to track.
            db.execute(insert(cast(Table, WebhookMessage.__table__)), self.messages)
            db.execute(insert(cast(Table, WebhookDelivery.__table__)), self.deliveries)


def _locked_cursor(db: Session) -> EventFeedCursor | None:
    return feed_cursors.locked_cursor(db, FEED)


def _any_endpoint(db: Session) -> bool:
    query = select(WebhookEndpoint.id).where(WebhookEndpoint.disabled.is_(False)).limit(1)
    return db.scalar(query) is not None


def _endpoints_by_tenant(db: Session, tenant_ids: set[int]) -> dict[int, list[WebhookEndpoint]]:
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.tenant_id.in_(tenant_ids), WebhookEndpoint.disabled.is_(False)
    )
    found: dict[int, list[WebhookEndpoint]] = defaultdict(list)
    for endpoint in db.scalars(query):
        found[endpoint.tenant_id].append(endpoint)
    return dict(found)
