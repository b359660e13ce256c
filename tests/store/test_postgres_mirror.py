"""The PostgreSQL mirror: what another process commits arrives within the bound, what this process
commits is there at once, skipped sequence numbers are picked up later, and a mirror that cannot
reach the store refuses to answer rather than answer stale."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import World, _libpq
from ticketd.core import identity, tickets
from ticketd.settings import Settings
from ticketd.store import postgres_mirror
from ticketd.store.engine import unit_of_work
from ticketd.store.errors import StoreError
from ticketd.store.fast_reads import FastReader
from ticketd.store.postgres_mirror import PostgresMirror
from ticketd.store.status_sources import PostgresMirrorSource
from ticketd.store.tables import User

# What the tests allow for a change made by another process to arrive (measured: milliseconds).
BOUND_SECONDS = 2.0
SET_STATUS = "UPDATE tickets SET status = %s, version = version + 1 WHERE id = %s"

pytestmark = pytest.mark.parametrize("settings", ["postgresql"], indirect=True)


@pytest.fixture
def reader(settings: Settings, world: World) -> Iterator[FastReader]:
    reader = FastReader(settings)
    reader.warm()
    assert isinstance(reader.source, PostgresMirrorSource)
    yield reader
    reader.close()


@pytest.fixture
def elsewhere(settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    """A connection of the store's own, as another process on another host would write."""
    assert settings.database_url is not None
    with psycopg.connect(_libpq(settings.database_url), autocommit=True) as connection:
        yield connection


def _within_bound(check: Callable[[], bool]) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < BOUND_SECONDS, "the change did not arrive in time"
        time.sleep(0.005)
    return time.monotonic() - started


def _new_ticket(sessions: sessionmaker[Session], world: World, subject: str) -> int:
    with unit_of_work(sessions, write=True) as db:
        ticket_id = tickets.create_ticket(db, world.agent.principal, tickets.Changes({"subject": subject})).id
        db.commit()
    return ticket_id


def test_lookups_are_served_from_memory(
    reader: FastReader, world: World, sessions: sessionmaker[Session]
) -> None:
    ticket_id = _new_ticket(sessions, world, "mirrored")
    # Committed by this process: in the mirror before the commit returned.
    row = reader.ticket_status(ticket_id)
    assert row is not None and row.status == "new" and row.tenant_id == world.tenant_id
    key = reader.api_key(world.agent.key_id)
    assert key is not None and key.user_id == world.agent.user_id and key.revoked_at is None
    user = reader.user(world.customer.user_id)
    assert user is not None and user.role == "customer"
    assert reader.ticket_status(ticket_id + 1000) is None


def test_another_process_s_changes_arrive_within_the_bound(
    reader: FastReader, world: World, sessions: sessionmaker[Session], elsewhere: psycopg.Connection[Any]
) -> None:
    with unit_of_work(sessions, write=True) as db:
        ticket_id = tickets.create_ticket(
            db, world.agent.principal, tickets.Changes({"subject": "remote"})
        ).id
        db.commit()
    elsewhere.execute(
        "UPDATE tickets SET status = 'solved', version = version + 1 WHERE id = %s", (ticket_id,)
    )
    _within_bound(lambda: (row := reader.ticket_status(ticket_id)) is not None and row.status == "solved")

    elsewhere.execute("UPDATE api_keys SET revoked_at = now() WHERE id = %s", (world.agent.key_id,))
    _within_bound(
        lambda: (key := reader.api_key(world.agent.key_id)) is not None and key.revoked_at is not None
    )

    elsewhere.execute("UPDATE users SET disabled = true WHERE id = %s", (world.customer.user_id,))
    _within_bound(lambda: (user := reader.user(world.customer.user_id)) is not None and user.disabled)
    # A key carries its user's state: disabling the user reaches the user's keys too.
    _within_bound(lambda: (key := reader.api_key(world.customer.key_id)) is not None and key.disabled)

    elsewhere.execute(
        "UPDATE users SET credential_version = credential_version + 1 WHERE id = %s", (world.admin.user_id,)
    )
    _within_bound(
        lambda: (user := reader.user(world.admin.user_id)) is not None and user.credential_version == 2
    )

    elsewhere.execute("DELETE FROM tickets WHERE id = %s", (ticket_id,))
    _within_bound(lambda: reader.ticket_status(ticket_id) is None)


def test_this_process_s_credential_changes_apply_at_once(
    reader: FastReader, world: World, sessions: sessionmaker[Session]
) -> None:
    with unit_of_work(sessions, write=True) as db:
        identity.revoke_api_key(db, key_id=world.agent.key_id)
        user = db.get(User, world.customer.user_id)
        assert user is not None
        identity.set_disabled(db, user, True)
        db.commit()
    # No waiting: the commit returned only once the mirror had it.
    agent_key = reader.api_key(world.agent.key_id)
    assert agent_key is not None and agent_key.revoked_at is not None
    customer = reader.user(world.customer.user_id)
    assert customer is not None and customer.disabled


@pytest.fixture
def quiet_mirror(settings: Settings, world: World) -> Iterator[PostgresMirror]:
    """A mirror that catches up only when told: no listening thread, no commit hook."""
    mirror = PostgresMirror(settings)
    mirror.catch_up()
    yield mirror
    mirror.close()


def _two_tickets(sessions: sessionmaker[Session], world: World) -> tuple[int, int]:
    return _new_ticket(sessions, world, "one"), _new_ticket(sessions, world, "two")


def test_a_sequence_number_committed_late_is_picked_up(
    world: World,
    settings: Settings,
    sessions: sessionmaker[Session],
    elsewhere: psycopg.Connection[Any],
    quiet_mirror: PostgresMirror,
) -> None:
    """Two writers: the first takes its number, the second commits first. The first's change is
    found once it commits, though the mirror has read past its number."""
    slow_id, fast_id = _two_tickets(sessions, world)
    quiet_mirror.catch_up()
    assert settings.database_url is not None
    with psycopg.connect(_libpq(settings.database_url)) as slow:
        slow.execute("UPDATE tickets SET status = 'open', version = version + 1 WHERE id = %s", (slow_id,))
        elsewhere.execute(
            "UPDATE tickets SET status = 'open', version = version + 1 WHERE id = %s", (fast_id,)
        )
        quiet_mirror.catch_up()
        fast, slow_row = quiet_mirror.ticket(fast_id), quiet_mirror.ticket(slow_id)
        assert fast is not None and fast.status == "open"
        assert slow_row is not None and slow_row.status == "new"
        slow.commit()
    quiet_mirror.catch_up()
    row = quiet_mirror.ticket(slow_id)
    assert row is not None and row.status == "open"


def test_a_pruned_log_makes_the_mirror_load_afresh(
    world: World, elsewhere: psycopg.Connection[Any], quiet_mirror: PostgresMirror
) -> None:
    reloads = quiet_mirror.reloads
    elsewhere.execute("UPDATE users SET role = 'customer' WHERE id = %s", (world.agent.user_id,))
    elsewhere.execute("UPDATE users SET disabled = true WHERE id = %s", (world.customer2.user_id,))
    elsewhere.execute("DELETE FROM store_changes")
    elsewhere.execute("UPDATE users SET disabled = disabled WHERE id = %s", (world.admin.user_id,))
    quiet_mirror.catch_up()
    agent = quiet_mirror.user(world.agent.user_id)
    assert agent is not None and agent.role == "customer"
    customer2 = quiet_mirror.user(world.customer2.user_id)
    assert customer2 is not None and customer2.disabled
    assert quiet_mirror.reloads == reloads + 1


def test_a_mirror_that_cannot_reach_the_store_refuses(
    reader: FastReader, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(reader.source, PostgresMirrorSource)
    mirror = reader.source.mirror
    assert reader.api_key(world.agent.key_id) is not None
    # As if the store had not answered for longer than the bound.
    monkeypatch.setattr(postgres_mirror, "STALE_SECONDS", 0.0)
    mirror.confirmed_at = time.monotonic() - 1
    with pytest.raises(StoreError):
        reader.api_key(world.agent.key_id)


def test_a_mirror_that_cannot_load_answers_once_the_store_is_back(settings: Settings, world: World) -> None:
    mirror = PostgresMirror(settings.model_copy(update={"database_url": settings.database_url + "x"}))
    mirror.start()  # the database does not exist: it says so and keeps trying, it does not crash
    assert mirror.last_error
    with pytest.raises(postgres_mirror.MirrorUnavailable):
        mirror.api_key(world.agent.key_id)
    mirror.close()
