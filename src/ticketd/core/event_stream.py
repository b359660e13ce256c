"""The live event stream's source: one tail of the event log per process, shared by every
subscriber, each of whom sees only what the REST API would show them.

The tail reads the log in feed order (core/event_feed.py) every `events_poll_seconds` while anyone
listens, and keeps the newest events in memory, bounded by count and by size. A subscriber follows
from a position: from the tail's memory when it reaches back far enough, else from the store page
by page, reading only the subscriber's own part of the log (a reconnect with `Last-Event-ID` after
a long absence), so nothing between the two is missed or repeated. How far back a reconnect may
reach is bounded: a client that asks for more starts at the window's beginning and is told so.

Waiting for news is an `asyncio.Event` replaced at every read that found something: a subscriber
takes the current one before it looks, so it cannot sleep through a read, and waiting on it holds
no lock, so a stream cancelled at any point leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from ticketd.core.event_feed import (
    START,
    FeedEvent,
    FeedScope,
    Position,
    events_after,
    latest,
    position_of,
    position_of_id,
    window_start,
)
from ticketd.core.principal import Principal
from ticketd.core.webhooks import messages
from ticketd.store.engine import unit_of_work

log = logging.getLogger(__name__)

KEPT_EVENTS = 10_000
PAGE = 500
# What an event kept in memory costs beyond its body (the object, its fields, the deque's slot).
EVENT_OVERHEAD_BYTES = 400


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

    @property
    def size(self) -> int:
        return len(self.body) + EVENT_OVERHEAD_BYTES

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


def scope_of(principal: Principal) -> FeedScope:
    return FeedScope(principal.tenant_id, principal.user_id if principal.is_customer else None)


@dataclass(frozen=True)
class StartPoint:
    """Where a subscriber begins; `cut` when it asked to resume from further back than the replay
    window reaches, so it missed the events between."""

    position: Position
    cut: bool = False


def load_after(
    db: Session, position: Position, limit: int = PAGE, scope: FeedScope | None = None
) -> list[StreamEvent]:
    """The next events after `position` (of `scope` only, when given), ready to send."""
    events = events_after(db, position, limit, scope)
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
    def __init__(
        self,
        sessions: sessionmaker[Session],
        poll_seconds: float,
        *,
        buffer_bytes: int = 8 * 1024 * 1024,
        replay_window: int = 1000,
    ) -> None:
        self.sessions = sessions
        self.poll_seconds = poll_seconds
        self.buffer_bytes = buffer_bytes
        self.replay_window = replay_window
        self._recent: deque[StreamEvent] = deque()
        self._kept_bytes = 0
        self._position: Position | None = None
        # The position just before the oldest event kept: memory answers for anything after it.
        self._kept_from: Position | None = None
        # Set (and replaced) whenever a read found something.
        self._news: asyncio.Event | None = None
        self._starting = asyncio.Lock()
        self._listeners = 0
        self._task: asyncio.Task[None] | None = None
        # The server is stopping: every follower ends.
        self._closed = False

    @property
    def kept_bytes(self) -> int:
        return self._kept_bytes

    @property
    def kept_events(self) -> int:
        return len(self._recent)

    async def start_point(self, principal: Principal, last_event_id: int | None) -> StartPoint:
        """Where a new subscriber starts: after its Last-Event-ID, no further back than the replay
        window; else at the end (news only)."""
        if last_event_id is not None:
            found = await asyncio.to_thread(self._in_store_start, scope_of(principal), last_event_id)
            if found is not None:
                return found
        await self._ensure_started()
        assert self._position is not None
        return StartPoint(self._position)

    def _in_store_start(self, scope: FeedScope, event_id: int) -> StartPoint | None:
        with unit_of_work(self.sessions, write=False) as db:
            asked = position_of_id(db, event_id)
            if asked is None:
                return None
            window = window_start(db, scope, self.replay_window)
        if window is not None and asked < window:
            return StartPoint(window, cut=True)
        return StartPoint(asked)

    def _in_store_latest(self) -> Position:
        with unit_of_work(self.sessions, write=False) as db:
            return latest(db)

    def _in_store_load(self, position: Position, scope: FeedScope | None) -> list[StreamEvent]:
        with unit_of_work(self.sessions, write=False) as db:
            return load_after(db, position, PAGE, scope)

    async def _ensure_started(self) -> None:
        if self._news is None:
            self._news = asyncio.Event()
        if self._task is not None and not self._task.done():
            return
        async with self._starting:
            if self._task is not None and not self._task.done():
                return
            # Nobody listened for a while and the tail stopped reading: it starts again from now,
            # with nothing kept (what a subscriber needs from before is read from the store).
            self._position = await asyncio.to_thread(self._in_store_latest)
            self._recent.clear()
            self._kept_bytes = 0
            self._kept_from = self._position
            self._task = asyncio.create_task(self._poll())

    async def _poll(self) -> None:
        while self._listeners > 0:
            assert self._position is not None
            try:
                found = await asyncio.to_thread(self._in_store_load, self._position, None)
            except Exception:  # the store is away: the subscribers wait, and reading resumes after it
                log.warning("event stream: reading the event log failed", exc_info=True)
                found = []
                await asyncio.sleep(1)
            if found:
                for event in found:
                    self._keep(event)
                self._position = found[-1].position
                self._announce()
            if len(found) < PAGE:
                await asyncio.sleep(self.poll_seconds)

    def _keep(self, event: StreamEvent) -> None:
        self._recent.append(event)
        self._kept_bytes += event.size
        while len(self._recent) > KEPT_EVENTS or self._kept_bytes > self.buffer_bytes:
            dropped = self._recent.popleft()
            self._kept_bytes -= dropped.size
            self._kept_from = dropped.position

    def close(self) -> None:
        """Ends every follow (the server is stopping); called on the loop."""
        self._closed = True
        if self._news is not None:
            self._announce()

    def _announce(self) -> None:
        assert self._news is not None
        news, self._news = self._news, asyncio.Event()
        news.set()

    async def follow(
        self, principal: Principal, position: Position, wanted: StreamFilter, idle: float
    ) -> AsyncIterator[StreamEvent | None]:
        """The events after `position` that `principal` may see and `wanted` admits, for ever;
        None whenever nothing came for `idle` seconds or a read found only others' events (time
        for a keep-alive, or a check)."""
        self._listeners += 1
        scope = scope_of(principal)
        try:
            await self._ensure_started()
            while not self._closed:
                news = self._news
                assert news is not None
                batch, position = await self._after(position, scope)
                sent = False
                for event in batch:
                    if event.visible_to(principal) and wanted.admits(event):
                        sent = True
                        yield event
                if batch:
                    if not sent:
                        yield None  # others' news only: the subscriber still gets its turn to check
                    continue
                try:
                    async with asyncio.timeout(idle):
                        await news.wait()
                except TimeoutError:
                    yield None
        finally:
            self._listeners -= 1

    async def _after(self, position: Position, scope: FeedScope) -> tuple[Sequence[StreamEvent], Position]:
        """The events after `position`, and the position after them."""
        tail = self._position or START
        if position >= tail:
            return (), position
        if self._kept_from is not None and self._kept_from <= position:
            # In memory: the events after `position`, found from the newest end.
            newer: list[StreamEvent] = []
            for event in reversed(self._recent):
                if event.position <= position:
                    break
                newer.append(event)
            newer.reverse()
            return newer, tail
        # Further back than memory reaches: the subscriber's part of the log, a page at a time.
        found = await asyncio.to_thread(self._in_store_load, position, scope)
        if len(found) < PAGE:
            # Everything of the scope up to `tail` has been read (the tail read its events earlier,
            # so they were readable then): the subscriber jumps there instead of reading the
            # store again at every change.
            return found, max(tail, found[-1].position) if found else tail
        return found, found[-1].position
