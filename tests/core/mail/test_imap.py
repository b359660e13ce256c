"""Mail fetched from a real Dovecot, on both stores: IDLE wakes the watcher (its poll interval is an
hour), a restarted server is reconnected to, and a worker killed with `kill -9` mid-fetch makes no
duplicate and loses nothing once another has finished."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import World
from tests.dovecot_server import PASSWORD, USER, OwnDovecot
from ticketd.core import attachments
from ticketd.core.mail import channels
from ticketd.core.mail.channels import ChannelSettings, ImapSecurity, ImapSettings
from ticketd.core.mail.imap import MailboxWatchers
from ticketd.core.mail.inbound import MailLimits
from ticketd.core.server_key import server_keys
from ticketd.core.signing_keys import keyring_sealer
from ticketd.settings import Settings
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import MailChannel, MailMessage, Ticket

LIMITS = MailLimits(1_000_000, 10_000, attachments.Limits(1_000_000, 100, 10**9))


@pytest.fixture
def dovecot() -> Iterator[OwnDovecot]:
    server = OwnDovecot()
    server.start()
    yield server
    server.remove()


def _message(number: int, **headers: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Customer {number} <customer{number}@example.net>"
    mail["To"] = "support@acme.example"
    mail["Subject"] = f"Request {number}"
    mail["Message-ID"] = f"<request-{number}@example.net>"
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(f"Please help with {number}.")
    return mail.as_bytes()


def _channel(
    sessions: sessionmaker[Session], world: World, settings: Settings, port: int, interval: int
) -> int:
    with unit_of_work(sessions, write=True) as db:
        channel = channels.create(db, world.admin.principal, "support@acme.example", ChannelSettings())
        imap = ImapSettings(
            host="127.0.0.1",
            port=port,
            user=USER,
            password=PASSWORD,
            security=ImapSecurity.PLAIN,
            interval_seconds=interval,
        )
        channels.set_imap(db, world.admin.principal, channel.id, imap, keyring_sealer(server_keys(settings)))
        db.commit()
        return channel.id


def _until(condition: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _count(sessions: sessionmaker[Session], table: type[MailMessage] | type[Ticket]) -> int:
    with unit_of_work(sessions, write=False) as db:
        return int(db.scalar(select(func.count()).select_from(table)) or 0)


def test_idle_brings_mail_at_once_and_a_restarted_server_is_reconnected_to(
    sessions: sessionmaker[Session], world: World, settings: Settings, dovecot: OwnDovecot
) -> None:
    dovecot.deliver(_message(0))  # there before the channel: taken too
    channel_id = _channel(sessions, world, settings, dovecot.port, interval=3600)
    watchers = MailboxWatchers(sessions, keyring_sealer(server_keys(settings)), LIMITS)
    try:
        watchers.refresh()
        _until(lambda: _count(sessions, Ticket) == 1)
        started = time.monotonic()
        dovecot.deliver(_message(1))
        _until(lambda: _count(sessions, Ticket) == 2, seconds=10)
        assert time.monotonic() - started < 10  # woken by IDLE, not by the hourly poll
        assert all(b"\\Seen" in flags for flags in dovecot.flags().values())

        dovecot.stop()
        time.sleep(0.5)
        dovecot.start()
        dovecot.deliver(_message(2, In_Reply_To="<request-1@example.net>"))
        _until(lambda: _count(sessions, MailMessage) == 3, seconds=30)
        with unit_of_work(sessions, write=False) as db:
            actions = list(db.scalars(select(MailMessage.action).order_by(MailMessage.id)))
            channel = db.get(MailChannel, channel_id)
            assert channel is not None and channel.imap_last_uid == 3
        assert actions == ["created", "created", "created"]  # customer 2 did not write request 1
    finally:
        watchers.close()
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("imap-")]


def test_a_worker_killed_mid_fetch_makes_no_duplicate_and_loses_nothing(
    sessions: sessionmaker[Session], world: World, settings: Settings, dovecot: OwnDovecot, tmp_path: Path
) -> None:
    total = 150
    dovecot.deliver(*(_message(number) for number in range(total)))
    _channel(sessions, world, settings, dovecot.port, interval=3600)
    env = {
        **os.environ,
        "TICKETD_DATABASE_URL": settings.resolved_database_url,
        "TICKETD_SECRET_KEY": settings.secret_key,
        "TICKETD_LOG_FORMAT": "json",
    }
    log = (tmp_path / "worker.log").open("wb")
    first = subprocess.Popen([sys.executable, "-m", "ticketd", "worker"], env=env, stdout=log, stderr=log)
    try:
        _until(lambda: _count(sessions, MailMessage) >= 10, seconds=60)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        killed_at = _count(sessions, MailMessage)
        assert killed_at < total, "the worker finished before it could be killed; deliver more"
        second = subprocess.Popen(
            [sys.executable, "-m", "ticketd", "worker"], env=env, stdout=log, stderr=log
        )
        try:
            _until(lambda: _count(sessions, MailMessage) == total, seconds=120)
            time.sleep(1)  # anything taken twice would show now
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
        log.close()
    assert _count(sessions, MailMessage) == total and _count(sessions, Ticket) == total
    with unit_of_work(sessions, write=False) as db:
        subjects = list(db.scalars(select(Ticket.subject)))
    assert sorted(subjects) == sorted(f"Request {number}" for number in range(total))
