"""`kill -9` of the delivering process mid-batch loses no message: 1,000 status changes, a
`ticketd worker` killed while it delivers them, a restarted one finishes. The receiver verifies
every delivery and saw every message id at least once; the duplicates are counted and printed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import World
from tests.webhook_receiver import Receiver, running_receiver
from ticketd.core import tickets
from ticketd.core.lifecycle import Status
from ticketd.core.signing_keys import Sealer
from ticketd.core.tickets import Changes
from ticketd.core.webhooks import endpoints
from ticketd.settings import Settings
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import WebhookMessage

CHANGES = 1_000


def _worker(settings: Settings) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TICKETD_DATABASE_URL": settings.resolved_database_url,
        "TICKETD_SECRET_KEY": settings.secret_key,
        "TICKETD_WEBHOOK_ALLOW_PRIVATE": "true",
        # A claim lasts the lease plus four timeouts (attempts wait their turn): 6 s here.
        "TICKETD_WEBHOOK_LEASE_SECONDS": "2",
        "TICKETD_WEBHOOK_TIMEOUT_SECONDS": "1",
        "TICKETD_EVENTS_POLL_SECONDS": "0.05",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "ticketd", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _make_changes(
    sessions: sessionmaker[Session], world: World, ticket_ids: list[int], count: int = CHANGES
) -> None:
    for number in range(count):
        ticket_id = ticket_ids[number % len(ticket_ids)]
        # open <-> pending, round after round: every change is a status change.
        target = Status.PENDING if (number // len(ticket_ids)) % 2 == 0 else Status.OPEN
        with unit_of_work(sessions, write=True) as db:
            tickets.transition(db, world.agent.principal, ticket_id, target)
            db.commit()


def _open_tickets_then_listen(
    settings: Settings, sessions: sessionmaker[Session], world: World, receiver: Receiver, count: int
) -> list[int]:
    """`count` open tickets, then an endpoint for their status changes (only changes made after it
    are sent to it); the receiver knows its secret. The tickets' ids."""
    with unit_of_work(sessions, write=True) as db:
        ticket_ids = []
        for number in range(count):
            created = tickets.create_ticket(
                db, world.agent.principal, Changes(values={"subject": f"T{number}"})
            )
            tickets.transition(db, world.agent.principal, created.id, Status.OPEN)
            ticket_ids.append(created.id)
        db.commit()
        _, secret = endpoints.create_endpoint(
            db,
            Sealer(settings.secret_key),
            tenant_id=world.tenant_id,
            url=receiver.url,
            events=["ticket.status_changed"],
            allow_private=True,
        )
        db.commit()
    receiver.secrets.append(secret)
    return ticket_ids


@pytest.mark.slow
def test_kill_9_while_delivering_loses_no_message(
    settings: Settings, sessions: sessionmaker[Session], world: World
) -> None:
    with running_receiver() as receiver:

        def slow_enough(_n: int) -> tuple[int, dict[str, str]]:
            time.sleep(0.002)  # a receiver doing some work: deliveries are out when the kill lands
            return (204, {})

        receiver.answer = slow_enough
        ticket_ids = _open_tickets_then_listen(settings, sessions, world, receiver, 20)
        first = _worker(settings)
        changes = threading.Thread(target=_make_changes, args=(sessions, world, ticket_ids))
        try:
            changes.start()
            receiver.wait_for(200, timeout=60)
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            killed_at = len(receiver.deliveries)
            changes.join(120)
            second = _worker(settings)
            try:
                with unit_of_work(sessions, write=False) as reading:
                    expected = set(reading.scalars(select(WebhookMessage.id)))
                deadline = time.monotonic() + 90
                while time.monotonic() < deadline:
                    with unit_of_work(sessions, write=False) as reading:
                        expected = set(reading.scalars(select(WebhookMessage.id)))
                    if len(expected) == CHANGES and expected <= receiver.ids():
                        break
                    time.sleep(0.1)
            finally:
                second.terminate()
                second.wait(10)
        finally:
            if first.poll() is None:
                first.kill()
    seen = Counter(delivery.webhook_id for delivery in receiver.deliveries)
    duplicates = sum(count - 1 for count in seen.values())
    print(f"\n{CHANGES} changes, killed after {killed_at} deliveries: ", end="")
    print(f"{len(seen)} messages seen, {duplicates} duplicates")
    assert len(expected) == CHANGES  # one message per committed change, none invented
    assert expected == set(seen)  # every one delivered, nothing unknown
    assert all(delivery.verified for delivery in receiver.deliveries)
    assert killed_at < CHANGES  # the kill did land mid-way


@pytest.mark.slow
def test_two_workers_at_once_never_send_one_attempt_twice(
    settings: Settings, sessions: sessionmaker[Session], world: World
) -> None:
    with running_receiver() as receiver:
        ticket_ids = _open_tickets_then_listen(settings, sessions, world, receiver, 10)
        workers = [_worker(settings), _worker(settings)]
        try:
            _make_changes(sessions, world, ticket_ids, count=300)
            receiver.wait_for(300, timeout=60)
            time.sleep(1)  # a second sending of any of them would arrive by now
        finally:
            for worker in workers:
                worker.terminate()
                worker.wait(10)
    seen = Counter(delivery.webhook_id for delivery in receiver.deliveries)
    assert len(seen) == 300
    assert max(seen.values()) == 1
    assert all(delivery.verified for delivery in receiver.deliveries)
