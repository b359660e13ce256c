"""Mail out, sent: a worker claims due messages from the outbox with a lease, sends each over SMTP
(aiosmtplib: STARTTLS when the server offers it on `smtp://`, TLS from the start on `smtps://`),
and records each outcome: sent; a permanent refusal (5xx) ends its attempts; anything else (4xx,
a connection refused or cut) is tried again on the schedule until it runs out. A worker that dies
mid-send leaves its lease to run out; the message is sent again with the same Message-ID, so a
receiver can tell the copy."""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ticketd.core.clock import utcnow
from ticketd.core.mail import outbox
from ticketd.core.mail.pacing import Pacer
from ticketd.settings import Settings
from ticketd.store import blobs
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import Attachment, MailOutbox

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
BATCH = 20


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    implicit_tls: bool
    username: str | None
    password: str | None
    timeout: float
    ca_file: Path | None

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpServer | None:
        if not settings.smtp_url:
            return None
        url = urlsplit(settings.smtp_url)
        if url.scheme not in ("smtp", "smtps") or not url.hostname:
            raise ValueError("TICKETD_SMTP_URL is smtp://[user:password@]host[:port] or smtps://...")
        implicit = url.scheme == "smtps"
        return cls(
            host=url.hostname,
            port=url.port or (465 if implicit else 587),
            implicit_tls=implicit,
            username=unquote(url.username) if url.username else None,
            password=unquote(url.password) if url.password else None,
            timeout=settings.smtp_timeout_seconds,
            ca_file=settings.smtp_ca_file,
        )

    def tls_context(self) -> ssl.SSLContext:
        # Made once: loading the system's authorities costs 20 ms, more than a whole send.
        return _tls_context(str(self.ca_file) if self.ca_file else None)


@functools.lru_cache(maxsize=8)
def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_file)


class MailOut:
    """The worker's part of mail out: the fan-out, then the sending of what is due."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        server: SmtpServer | None,
        schedule: tuple[float, ...],
        pacer: Pacer | None = None,
    ) -> None:
        self.sessions = sessions
        self.server = server
        self.schedule = schedule or (0.0,)
        self.pacer = pacer or Pacer(1.0)

    def turn(self) -> bool:
        """One round, paced (pacing.py); whether it did anything."""
        with self.pacer.round():
            return self._turn()

    def _turn(self) -> bool:
        # A read first: an idle round takes no write lock.
        with unit_of_work(self.sessions, write=False) as db:
            news = outbox.has_news(db)
        read = 0
        if news:
            with unit_of_work(self.sessions, write=True) as db:
                if self.server is None:
                    outbox.skip_to_end(db)
                else:
                    read = outbox.fan_out(db)
                db.commit()
        return self.send_due() > 0 or read > 0

    def send_due(self, now: datetime | None = None) -> int:
        if self.server is None:
            return 0
        moment = now or utcnow()
        with unit_of_work(self.sessions, write=False) as db:
            if not outbox.any_due(db, moment):
                return 0
        claimed = self._claim(moment)
        if not claimed:
            return 0
        outcomes = asyncio.run(self._send_all(claimed))
        self._record(outcomes)
        return len(claimed)

    def _claim(self, now: datetime) -> list[tuple[int, EmailMessage, list[str]]]:
        with unit_of_work(self.sessions, write=True) as db:
            rows = outbox.due(db, now, BATCH)
            for row in rows:
                row.lease_until = now + LEASE
            messages = [(row.id, self._message(db, row), list(row.recipients)) for row in rows]
            db.commit()
        return messages

    def _message(self, db: Session, row: MailOutbox) -> EmailMessage:
        message = EmailMessage()
        message["From"] = row.sender
        message["To"] = ", ".join(row.recipients)
        message["Subject"] = row.subject
        message["Message-ID"] = row.message_id
        message["Date"] = format_datetime(row.created_at)
        for name, value in row.headers.items():
            message[name] = value
        message.set_content(row.text)
        message.add_alternative(row.html, subtype="html")
        if row.attachment_ids:
            for attachment in db.scalars(select(Attachment).where(Attachment.id.in_(row.attachment_ids))):
                data = b"".join(blobs.read_parts(self.sessions, attachment.blob_id))
                maintype, _, subtype = attachment.content_type.partition("/")
                message.add_attachment(
                    data,
                    maintype=maintype or "application",
                    subtype=subtype or "octet-stream",
                    filename=attachment.filename,
                )
        return message

    async def _send_all(
        self, claimed: list[tuple[int, EmailMessage, list[str]]]
    ) -> list[tuple[int, str | None, bool]]:
        """(row id, error or None, whether the error is permanent) for each message."""
        return [await self._send(row_id, message, recipients) for row_id, message, recipients in claimed]

    async def _send(
        self, row_id: int, message: EmailMessage, recipients: list[str]
    ) -> tuple[int, str | None, bool]:
        server = self.server
        assert server is not None
        try:
            await aiosmtplib.send(
                message,
                recipients=recipients,
                hostname=server.host,
                port=server.port,
                username=server.username,
                password=server.password,
                use_tls=server.implicit_tls,
                start_tls=None if not server.implicit_tls else False,
                tls_context=server.tls_context(),
                timeout=server.timeout,
            )
        except aiosmtplib.SMTPResponseException as exc:
            return row_id, f"{exc.code} {exc.message}"[:500], 500 <= exc.code < 600
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return row_id, f"{type(exc).__name__}: {exc}"[:500], False
        return row_id, None, False

    def _record(self, outcomes: list[tuple[int, str | None, bool]]) -> None:
        now = utcnow()
        with unit_of_work(self.sessions, write=True) as db:
            for row_id, error, permanent in outcomes:
                row = db.get(MailOutbox, row_id)
                if row is None:
                    continue
                row.attempts += 1
                row.lease_until = None
                row.last_error = error
                if error is None:
                    row.status, row.sent_at = outbox.SENT, now
                elif permanent or row.attempts >= len(self.schedule):
                    row.status = outbox.FAILED
                    log.warning("mail %s to %s failed for good: %s", row.message_id, row.recipients, error)
                else:
                    row.next_attempt_at = row.created_at + timedelta(seconds=self.schedule[row.attempts])
            db.commit()
