"""Mail fetched from a channel's IMAP mailbox (imapclient), exactly once.

Each message is taken in one transaction with the channel's row locked: what it becomes (a ticket,
a comment, a record) and the channel's new last UID commit together. A worker killed mid-fetch
leaves the last UID at the last message it committed, so the next fetch starts after it and makes
no duplicate; two workers fetching one mailbox both lock the row, and the second finds the UID
already taken. A new UIDVALIDITY (the folder was recreated) starts again from the first message;
the Message-IDs already taken keep those out. Messages are read with BODY.PEEK (not marking them
seen) and marked seen or moved only once taken. Every message of the folder is taken, read or not:
a channel's folder is one that receives its mail.

`MailboxWatcher` keeps one connection per channel in a thread of its own: it fetches, then waits
in IDLE where the server offers it (else sleeps the channel's interval), and reconnects with a
growing pause when the connection fails (a restarted server)."""

from __future__ import annotations

import contextlib
import logging
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ticketd.core.clock import utcnow
from ticketd.core.mail.channels import AfterFetch, ImapSecurity, sealed_for
from ticketd.core.mail.inbound import HEAD_BYTES, MailLimits, take, take_oversized
from ticketd.core.mail.pacing import Pacer
from ticketd.core.signing_keys import Sealer
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import MailChannel, Tenant

log = logging.getLogger(__name__)
SEEN = rb"\Seen"
BATCH = 100
TIMEOUT_SECONDS = 30
# IDLE is renewed this often at least (RFC 2177 asks for under 29 minutes; servers often cut sooner).
IDLE_SECONDS = 300
JOIN_SECONDS = 15


@dataclass(frozen=True)
class Mailbox:
    """A channel's mailbox, read from its row: what a connection needs."""

    channel_id: int
    host: str
    port: int
    security: str
    user: str
    password: str
    folder: str
    after: str
    move_to: str | None
    interval_seconds: int

    @property
    def key(self) -> tuple[object, ...]:
        """What, changed, needs a new connection."""
        return (self.host, self.port, self.security, self.user, self.password, self.folder)


def mailboxes(db: Session, sealer: Sealer) -> list[Mailbox]:
    """Every channel's mailbox whose password opens under the server's keys."""
    found = []
    for channel in db.scalars(select(MailChannel).where(MailChannel.imap_host.is_not(None))):
        if channel.imap_password_sealed is None or channel.imap_user is None or channel.imap_port is None:
            continue
        password = sealer.open(channel.imap_password_sealed, sealed_for(channel.id))
        if password is None:
            continue
        found.append(
            Mailbox(
                channel.id,
                channel.imap_host or "",
                channel.imap_port,
                channel.imap_security or ImapSecurity.TLS.value,
                channel.imap_user,
                password,
                channel.imap_folder,
                channel.imap_after,
                channel.imap_move_to,
                channel.imap_interval_seconds,
            )
        )
    return found


def connect(mailbox: Mailbox, ca_file: Path | None = None) -> IMAPClient:
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    implicit = mailbox.security == ImapSecurity.TLS.value
    client = IMAPClient(
        mailbox.host,
        port=mailbox.port,
        ssl=implicit,
        ssl_context=context if implicit else None,
        timeout=TIMEOUT_SECONDS,
    )
    try:
        if mailbox.security == ImapSecurity.STARTTLS.value:
            client.starttls(context)
        client.login(mailbox.user, mailbox.password)
    except BaseException:
        _close(client)
        raise
    return client


def fetch_new(
    client: IMAPClient, sessions: sessionmaker[Session], mailbox: Mailbox, limits: MailLimits
) -> int:
    """Takes the messages that came since the last, a batch at a time until none is left; how many
    were taken."""
    selected = client.select_folder(mailbox.folder)
    uidvalidity = int(selected[b"UIDVALIDITY"])
    taken = 0
    while True:
        last = _start(sessions, mailbox.channel_id, uidvalidity)
        criteria = ["UID", f"{last + 1}:*"]
        # `n:*` names the newest message even when its UID is below n: keep only the new ones.
        uids = sorted(uid for uid in client.search(criteria) if uid > last)[:BATCH]
        if not uids:
            return taken
        sizes = {
            uid: int(data.get(b"RFC822.SIZE", 0)) for uid, data in client.fetch(uids, ["RFC822.SIZE"]).items()
        }
        for uid in uids:
            oversized = sizes.get(uid, 0) > limits.max_bytes
            # PEEK: reading a message does not mark it seen; that waits until it is taken.
            fetched = client.fetch([uid], [b"BODY.PEEK[HEADER]" if oversized else b"BODY.PEEK[]"])
            raw = fetched.get(uid, {}).get(b"BODY[HEADER]" if oversized else b"BODY[]")
            if isinstance(raw, bytes) and _take(
                sessions, mailbox.channel_id, uidvalidity, uid, raw, sizes.get(uid, len(raw)), limits
            ):
                taken += 1
                _after(client, mailbox, uid)


def _start(sessions: sessionmaker[Session], channel_id: int, uidvalidity: int) -> int:
    with unit_of_work(sessions, write=True) as db:
        channel = _locked(db, channel_id)
        if channel is None:
            return 0
        if channel.imap_uidvalidity != uidvalidity:
            channel.imap_uidvalidity, channel.imap_last_uid = uidvalidity, 0
        channel.imap_checked_at, channel.imap_error = utcnow(), None
        last = channel.imap_last_uid
        db.commit()
    return last


def _take(
    sessions: sessionmaker[Session],
    channel_id: int,
    uidvalidity: int,
    uid: int,
    raw: bytes,
    size: int,
    limits: MailLimits,
) -> bool:
    """One message and the channel's new last UID, in one transaction; False when it was taken
    already (by another worker)."""
    with unit_of_work(sessions, write=True) as db:
        channel = _locked(db, channel_id)
        if channel is None or channel.imap_uidvalidity != uidvalidity or channel.imap_last_uid >= uid:
            return False
        tenant = db.get(Tenant, channel.tenant_id)
        assert tenant is not None
        if size > limits.max_bytes:
            take_oversized(db, tenant, raw[:HEAD_BYTES], size, limits)
        else:
            take(db, tenant, raw, limits)
        channel.imap_last_uid = uid
        db.commit()
    return True


def _after(client: IMAPClient, mailbox: Mailbox, uid: int) -> None:
    if mailbox.after == AfterFetch.MOVE.value and mailbox.move_to:
        client.move([uid], mailbox.move_to)
    else:
        client.add_flags([uid], [SEEN])


def _locked(db: Session, channel_id: int) -> MailChannel | None:
    query = select(MailChannel).where(MailChannel.id == channel_id)
    if db.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return db.scalars(query).first()


def record_error(sessions: sessionmaker[Session], channel_id: int, error: str) -> None:
    with unit_of_work(sessions, write=True) as db:
        channel = db.get(MailChannel, channel_id)
        if channel is not None:
            channel.imap_error, channel.imap_checked_at = error[:500], utcnow()
            db.commit()


class MailboxWatcher(threading.Thread):
    """One channel's mailbox, followed until `stop` is set."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        mailbox: Mailbox,
        limits: MailLimits,
        stop: threading.Event,
        ca_file: Path | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        super().__init__(daemon=True, name=f"imap-{mailbox.channel_id}")
        self.pacer = pacer or Pacer(1.0)
        self.sessions = sessions
        self.mailbox = mailbox
        self.limits = limits
        self.stop = stop
        self.ca_file = ca_file
        self.taken = 0

    def run(self) -> None:
        failures = 0
        while not self.stop.is_set():
            try:
                client = connect(self.mailbox, self.ca_file)
                try:
                    failures = 0
                    self._follow(client)
                finally:
                    _close(client)
            except (IMAPClientError, OSError, ssl.SSLError) as exc:
                failures += 1
                record_error(self.sessions, self.mailbox.channel_id, f"{type(exc).__name__}: {exc}")
                log.warning("mailbox of channel %s: %s", self.mailbox.channel_id, exc)
                self.stop.wait(min(60.0, 0.5 * 2**failures))

    def _follow(self, client: IMAPClient) -> None:
        idle = b"IDLE" in client.capabilities()
        while not self.stop.is_set():
            with self.pacer.round(self.stop):
                self.taken += fetch_new(client, self.sessions, self.mailbox, self.limits)
            if not idle:
                self.stop.wait(self.mailbox.interval_seconds)
                continue
            client.idle()
            try:
                # Woken by the server when mail comes (EXISTS), or after a while in any case; a
                # second at a time, so that a stop is noticed soon.
                deadline = time.monotonic() + min(self.mailbox.interval_seconds, IDLE_SECONDS)
                while not self.stop.is_set() and time.monotonic() < deadline:
                    if client.idle_check(timeout=1):
                        break
            finally:
                client.idle_done()


class MailboxWatchers:
    """A worker's watchers: one per channel's mailbox, started, restarted on a change, stopped."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        sealer: Sealer,
        limits: MailLimits,
        ca_file: Path | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.sessions = sessions
        self.sealer = sealer
        self.limits = limits
        self.ca_file = ca_file
        self.pacer = pacer
        self._running: dict[int, tuple[MailboxWatcher, threading.Event]] = {}

    def refresh(self) -> None:
        with unit_of_work(self.sessions, write=False) as db:
            wanted = {mailbox.channel_id: mailbox for mailbox in mailboxes(db, self.sealer)}
        for channel_id, (watcher, stop) in list(self._running.items()):
            mailbox = wanted.get(channel_id)
            if mailbox is None or mailbox != watcher.mailbox or not watcher.is_alive():
                stop.set()
                del self._running[channel_id]
        for channel_id, mailbox in wanted.items():
            if channel_id not in self._running:
                stop = threading.Event()
                watcher = MailboxWatcher(self.sessions, mailbox, self.limits, stop, self.ca_file, self.pacer)
                watcher.start()
                self._running[channel_id] = (watcher, stop)

    def close(self) -> None:
        """Stops every watcher and waits for it (a second or so: none holds on longer)."""
        for _, stop in self._running.values():
            stop.set()
        for watcher, _ in self._running.values():
            watcher.join(JOIN_SECONDS)
        self._running.clear()


def _close(client: IMAPClient) -> None:
    """Logs out, or (the connection being gone already) closes the socket at least."""
    try:
        client.logout()
    except (IMAPClientError, OSError):
        with contextlib.suppress(IMAPClientError, OSError):
            client.shutdown()
