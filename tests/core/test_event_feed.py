"""On PostgreSQL an event with a lower id can commit after one with a higher id. Made to happen
here (two connections, the lower id's transaction held open while the higher commits): the feed,
the event stream and the webhooks' fan-out each take both, in commit-safe order, neither skipped
nor repeated."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import World
from ticketd.core import tickets
from ticketd.core.event_feed import events_after, latest, position_of
from ticketd.core.event_stream import EventTail, StreamEvent, StreamFilter
from ticketd.core.signing_keys import Sealer
from ticketd.core.webhooks import endpoints
from ticketd.core.webhooks.fanout import ensure_cursor, fan_out
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import TicketEvent, WebhookMessage

pytestmark = pytest.mark.parametrize("settings", ["postgresql"], indirect=True)


def _created(db: Session, world: World, subject: str) -> int:
    """A ticket made in `db`'s transaction; the id of the event it wrote."""
    ticket = tickets.create_ticket(db, world.agent.principal, tickets.Changes(values={"subject": subject}))
    event_id = db.scalar(select(func.max(TicketEvent.id)).where(TicketEvent.ticket_id == ticket.id))
    assert event_id is not None
    return event_id


@contextmanager
def out_of_order(sessions: sessionmaker[Session], world: World) -> Iterator[tuple[int, int]]:
    """A transaction holds the lower event id open while the higher commits; it commits when the
    block ends. Yields (lower, higher)."""
    held = sessions()
    try:
        lower = _created(held, world, "held open")
        with unit_of_work(sessions, write=True) as other:
            higher = _created(other, world, "committed first")
            other.commit()
        assert lower < higher
        yield lower, higher
        held.commit()
    finally:
        held.close()


def test_the_feed_takes_a_late_commit_before_what_followed_it(
    sessions: sessionmaker[Session], world: World
) -> None:
    with unit_of_work(sessions, write=False) as db:
        start = latest(db)
    with out_of_order(sessions, world) as (lower, higher), unit_of_work(sessions, write=False) as db:
        # The higher id is committed, but a reader that took it now would pass the lower by.
        assert events_after(db, start, 100) == []
    with unit_of_work(sessions, write=False) as db:
        found = events_after(db, start, 100)
        assert [event.id for event in found] == [lower, higher]
        assert events_after(db, position_of(found[-1]), 100) == []


def test_the_event_stream_delivers_each_event_once(sessions: sessionmaker[Session], world: World) -> None:
    async def scenario() -> list[int]:
        tail = EventTail(sessions, poll_seconds=0.01)
        start = (await tail.start_point(world.admin.principal, None)).position
        seen: list[int] = []
        both = asyncio.Event()

        async def follow() -> None:
            async for event in tail.follow(world.admin.principal, start, StreamFilter(), idle=0.05):
                if isinstance(event, StreamEvent) and event.type == "ticket.created":
                    seen.append(event.id)
                    if len(seen) >= 2:
                        both.set()

        follower = asyncio.create_task(follow())
        held = sessions()
        try:
            lower = await asyncio.to_thread(_created, held, world, "held open")

            def commit_other() -> int:
                with unit_of_work(sessions, write=True) as other:
                    higher = _created(other, world, "committed first")
                    other.commit()
                return higher

            higher = await asyncio.to_thread(commit_other)
            await asyncio.sleep(0.3)  # many polls: the higher id must wait for the lower
            assert seen == []
            await asyncio.to_thread(held.commit)
        finally:
            held.close()
        await asyncio.wait_for(both.wait(), 10)
        await asyncio.sleep(0.3)  # and nothing comes twice
        follower.cancel()
        assert seen == [lower, higher]
        return seen

    asyncio.run(scenario())


def test_webhooks_fan_out_each_event_once(sessions: sessionmaker[Session], world: World) -> None:
    with unit_of_work(sessions, write=True) as db:
        endpoints.create_endpoint(
            db, Sealer("k" * 40), tenant_id=world.tenant_id, url="https://8.8.8.8/hook", allow_private=False
        )
        ensure_cursor(db)
        db.commit()

    def fan_out_once() -> int:
        with unit_of_work(sessions, write=True) as db:
            read = fan_out(db, first_delay=timedelta(0))
            db.commit()
        return read

    with out_of_order(sessions, world) as (lower, higher):
        assert fan_out_once() == 0  # the higher waits for the lower
    assert fan_out_once() == 2
    assert fan_out_once() == 0
    with unit_of_work(sessions, write=False) as db:
        rows = db.execute(select(WebhookMessage.event_id, func.count()).group_by(WebhookMessage.event_id))
        assert {event_id: count for event_id, count in rows} == {lower: 1, higher: 1}
