"""The live event stream's source: one tail of the event log per process, shared by every
subscriber, each of whom sees only what the REST API would show them.

The tail reads the log in feed order (core/event_feed.py) every `events_poll_seconds` while anyone
listens, and keeps the newest events in memory. A subscriber follows from a position: from the
tail's memory when it reaches back far enough, else from the store page by page (a reconnect with
`Last-Event-ID` after a long absence), so nothing between the two is missed or repeated.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from ticketd.core.event_feed import (
    START,
    FeedEvent,
    Position,
    events_after,
    latest,
    position_of,
    position_of_id,
)
from ticketd.core.principal import Principal
from ticketd.core.webhooks import messages
from ticketd.store.engine import unit_of_work

log = logging.getLogger(__name__)

KEPT_EVENTS = 10_000
PAGE = 500


@dataclass(frozen=True)
class StreamEvent:
    position: Position
    tenant_id: int
    ticket_id: int
    # Who requested the ticket when the event was read (a customer sees only their own tickets').
    requester_id: int | None
    type: str
    public: bool
    body: str

    @property
    def id(self) -> int:
        return self.position.event_id

    def visible_to(self, principal: Principal) -> bool:
        if self.tenant_id != principal.tenant_id:
            return False
        return not principal.is_customer or (self.public and self.requester_id == principal.user_id)


@dataclass(frozen=True)
class StreamFilter:
    types: Collection[str] = ()
    ticket_id: int | None = None

    def admits(self, event: StreamEvent) -> bool:
        if self.types and event.type not in self.types:
            return False
        return self.ticket_id is None or event.ticket_id == self.ticket_id


def load_after(db: Session, position: Position, limit: int = PAGE) -> list[StreamEvent]:
    """The next events after `position`, ready to send."""
    events = events_after(db, position, limit)
    if not events:
        return []
    subjects = messages.load_subjects(db, events)
    return [_stream_event(event, subjects) for event in events]


def _stream_event(event: FeedEvent, subjects: messages.Subjects) -> StreamEvent:
    ticket = subjects.tickets.get(event.ticket_id)
    event_type = messages.type_of(event)
    data = subjects.data_of(event)
    return StreamEvent(
        position=position_of(event),
        tenant_id=event.tenant_id,
        ticket_id=event.ticket_id,
        requester_id=ticket.requester_id if ticket is not None else None,
        type=event_type,
        public=messages.is_public(event),
        body=messages.body(event_type, event.at, data),
    )


class EventTail:
    def __init__(self, sessions: sessionmaker[Session], poll_seconds: float) -> None:
        self.sessions = sessions
        self.poll_seconds = poll_seconds
        self._recent: deque[StreamEvent] = deque(maxlen=KEPT_EVENTS)
        self._position: Position | None = None
        # The position just before the oldest event kept: memory answers for anything after it.
        self._kept_from: Position | None = None
        # Counts the tail's reads that found something, so a subscriber never sleeps through one.
        self._generation = 0
        self._changed: asyncio.Condition | None = None
        self._listeners = 0
        self._task: asyncio.Task[None] | None = None

    async def start_position(self, last_event_id: int | None) -> Position:
        """Where a new subscriber starts: after its Last-Event-ID, else at the end (news only)."""
        if last_event_id is not None:
            found = await asyncio.to_thread(self._in_store_position_of, last_event_id)
            if found is not None:
                return found
        await self._ensure_started()
        assert self._position is not None
        return self._position

    def _in_store_position_of(self, event_id: int) -> Position | None:
        with unit_of_work(self.sessions, write=False) as db:
            return position_of_id(db, event_id)

    def _in_store_latest(self) -> Position:
        with unit_of_work(self.sessions, write=False) as db:
            return latest(db)

    def _in_store_load(self, position: Position) -> list[StreamEvent]:
        with unit_of_work(self.sessions, write=False) as db:
            return load_after(db, position)

    async def _ensure_started(self) -> None:
        if self._changed is None:
            self._changed = asyncio.Condition()
        if self._position is None:
            self._position = await asyncio.to_thread(self._in_store_latest)
            self._kept_from = self._position
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._poll())

    async def _poll(self) -> None:
        assert self._changed is not None
        while self._listeners > 0:
            assert self._position is not None
            try:
                found = await asyncio.to_thread(self._in_store_load, self._position)
            except Exception:  # the store is away: the subscribers wait, and reading resumes after it
                log.warning("event stream: reading the event log failed", exc_info=True)
                found = []
                await asyncio.sleep(1)
            if found:
                for event in found:
                    if len(self._recent) == KEPT_EVENTS:
                        self._kept_from = self._recent.popleft().position
                    self._recent.append(event)
                self._position = found[-1].position
                async with self._changed:
                    self._generation += 1
                    self._changed.notify_all()
            if len(found) < PAGE:
                await asyncio.sleep(self.poll_seconds)

    async def follow(
        self, principal: Principal, position: Position, wanted: StreamFilter, heartbeat: float
    ) -> AsyncIterator[StreamEvent | None]:
        """The events after `position` that `principal` may see and `wanted` admits, for ever;
        None when nothing came for `heartbeat` seconds (time for a keep-alive)."""
        self._listeners += 1
        try:
            await self._ensure_started()
            assert self._changed is not None
            while True:
                generation = self._generation
                batch = await self._after(position)
                for event in batch:
                    position = event.position
                    if event.visible_to(principal) and wanted.admits(event):
                        yield event
                if batch:
                    continue
                async with self._changed:
                    if generation != self._generation:
                        continue  # the tail read more while we looked
                    waited = False
                    with contextlib.suppress(TimeoutError):
                        waited = await asyncio.wait_for(self._changed.wait(), heartbeat)
                if not waited:
                    yield None
        finally:
            self._listeners -= 1

    async def _after(self, position: Position) -> Sequence[StreamEvent]:
        tail = self._position or START
        if position >= tail:
            return ()
        if self._kept_from is not None and self._kept_from <= position:
            # In memory: the events after `position`, found from the newest end.
            newer: list[StreamEvent] = []
            for event in reversed(self._recent):
                if event.position <= position:
                    break
                newer.append(event)
            newer.reverse()
            return newer
        # Further back than memory reaches: from the store, a page at a time.
        return await asyncio.to_thread(self._in_store_load, position)
