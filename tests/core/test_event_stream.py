"""The event stream's tail on a real store: a reconnect replays only the caller's own part of the
log, and no further back than the window; the events kept in memory are bounded by size; and
followers cancelled at any point leave the tail working for the rest."""

from __future__ import annotations

import asyncio
import random

from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import World
from ticketd.core import tickets
from ticketd.core.event_feed import START, FeedScope, Position, events_after, latest, window_start
from ticketd.core.event_stream import EVENT_OVERHEAD_BYTES, EventTail, StreamEvent, StreamFilter
from ticketd.core.principal import Principal
from ticketd.store.engine import unit_of_work


def _ticket(sessions: sessionmaker[Session], principal: Principal, requester_id: int | None = None) -> int:
    with unit_of_work(sessions, write=True) as db:
        changes = tickets.Changes(values={"subject": "Help"}, requester_id=requester_id)
        ticket = tickets.create_ticket(db, principal, changes)
        db.commit()
        return ticket.id


def _comment(sessions: sessionmaker[Session], principal: Principal, ticket_id: int, public: bool) -> None:
    with unit_of_work(sessions, write=True) as db:
        tickets.add_comment(db, principal, ticket_id, body="a note " * 20, public=public)
        db.commit()


def _first_event_id(sessions: sessionmaker[Session]) -> int:
    with unit_of_work(sessions, write=False) as db:
        return latest(db).event_id


def test_a_replay_reads_only_the_callers_part_of_the_log(
    sessions: sessionmaker[Session], world: World
) -> None:
    agent, customer = world.agent.principal, world.customer.principal
    mine = _ticket(sessions, agent, requester_id=customer.user_id)
    theirs = _ticket(sessions, agent, requester_id=world.customer2.user_id)
    for public in (True, False):
        _comment(sessions, agent, mine, public)
        _comment(sessions, agent, theirs, public)
    for _ in range(5):
        _ticket(sessions, world.outsider.principal)
    with unit_of_work(sessions, write=False) as db:
        every = events_after(db, START, 1000)
        tenant = events_after(db, START, 1000, FeedScope(world.tenant_id))
        own = events_after(db, START, 1000, FeedScope(world.tenant_id, customer.user_id))
    assert {event.tenant_id for event in every} > {world.tenant_id}
    assert tenant and {event.tenant_id for event in tenant} == {world.tenant_id}
    assert [event.id for event in tenant] == [e.id for e in every if e.tenant_id == world.tenant_id]
    # The customer's: its own ticket's creation and public comment, not the internal note.
    assert {event.ticket_id for event in own} == {mine}
    assert [event.kind for event in own] == ["created", "commented"]
    assert own[-1].new_value["public"] is True


def test_a_reconnect_reaches_back_no_further_than_the_window(
    sessions: sessionmaker[Session], world: World
) -> None:
    agent = world.agent.principal
    before = _first_event_id(sessions)
    ours = [_ticket(sessions, agent) for _ in range(8)]
    for _ in range(20):  # another tenant's: they do not count against ours
        _ticket(sessions, world.outsider.principal)
    assert len(ours) == 8

    async def scenario() -> tuple[list[int], bool, list[int], bool]:
        tail = EventTail(sessions, poll_seconds=0.01, replay_window=5)
        cut = await tail.start_point(agent, before + 1)
        whole = await tail.start_point(world.outsider.principal, before + 1)
        return (
            await _drain(tail, agent, cut.position),
            cut.cut,
            await _drain(tail, world.outsider.principal, whole.position),
            whole.cut,
        )

    replayed, was_cut, theirs, theirs_cut = asyncio.run(scenario())
    with unit_of_work(sessions, write=False) as db:
        window = window_start(db, FeedScope(world.tenant_id), 5)
        newest = events_after(db, START, 1000, FeedScope(world.tenant_id))
    assert was_cut and window is not None
    assert replayed == [event.id for event in newest[-5:]]
    # The other tenant's 20 exceed its window too; each tenant's window is its own.
    assert theirs_cut and len(theirs) == 5


async def _drain(tail: EventTail, principal: Principal, position: Position) -> list[int]:
    found: list[int] = []
    async for event in tail.follow(principal, position, StreamFilter(), idle=0.2):
        if event is None:
            break
        if isinstance(event, StreamEvent):
            found.append(event.id)
    return found


def test_the_events_kept_in_memory_are_bounded_by_size(sessions: sessionmaker[Session], world: World) -> None:
    bound = 4 * (EVENT_OVERHEAD_BYTES + 600)

    async def scenario() -> tuple[int, int, list[int]]:
        tail = EventTail(sessions, poll_seconds=0.01, buffer_bytes=bound)
        start = (await tail.start_point(world.admin.principal, None)).position
        follower = asyncio.create_task(_drain(tail, world.admin.principal, start))
        await asyncio.sleep(0.05)
        ticket_id = await asyncio.to_thread(_ticket, sessions, world.agent.principal)
        for _ in range(30):
            await asyncio.to_thread(_comment, sessions, world.agent.principal, ticket_id, True)
        await asyncio.sleep(0.1)
        seen = await follower
        return tail.kept_bytes, tail.kept_events, seen

    kept_bytes, kept_events, seen = asyncio.run(scenario())
    assert 0 < kept_bytes <= bound
    assert kept_events < 31
    assert len(seen) == 31  # what fell out of memory was still delivered


def test_followers_cancelled_at_any_point_leave_the_tail_working(
    sessions: sessionmaker[Session], world: World
) -> None:
    """Hundreds of followers, each cancelled at a random moment (while starting, reading, or
    waiting for news), while events arrive; then a new follower gets the next event at once."""
    rng = random.Random(29)

    async def scenario() -> list[int]:
        tail = EventTail(sessions, poll_seconds=0.005)
        start = (await tail.start_point(world.admin.principal, None)).position
        ticket_id = await asyncio.to_thread(_ticket, sessions, world.agent.principal)

        async def follow() -> None:
            async for _ in tail.follow(world.admin.principal, start, StreamFilter(), idle=0.01):
                pass

        for round_number in range(4):
            followers = [asyncio.create_task(follow()) for _ in range(250)]
            writer = asyncio.create_task(
                asyncio.to_thread(_comment, sessions, world.agent.principal, ticket_id, True)
            )
            order = list(followers)
            if round_number == 1:
                order.reverse()
            elif round_number > 1:
                rng.shuffle(order)
            for follower in order:
                if rng.random() < 0.3:
                    await asyncio.sleep(0)
                follower.cancel()
            results = await asyncio.gather(*followers, return_exceptions=True)
            await writer
            assert all(isinstance(result, asyncio.CancelledError) for result in results), results
        await asyncio.sleep(0.2)  # the tail has read the last round's comment
        after = (await tail.start_point(world.admin.principal, None)).position
        late = asyncio.create_task(_drain(tail, world.admin.principal, after))
        await asyncio.sleep(0.05)
        await asyncio.to_thread(_comment, sessions, world.agent.principal, ticket_id, True)
        async with asyncio.timeout(5):
            return await late

    assert len(asyncio.run(scenario())) == 1
