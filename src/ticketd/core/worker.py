"""Running operations from the store, exactly once, on any number of workers on any host.

A worker claims a pending operation, or a running one whose lease has run out, by setting a lease
in the same statement that picks it (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: the write lock).
The operation's job (core/jobs/) then works in steps: each step's writes, the operation's progress
and its renewed lease are one transaction. A worker killed mid-step loses that step's transaction
and nothing else; when its lease runs out another worker resumes after the last committed step,
so every row lands once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import astuple
from datetime import timedelta
from typing import Any

from sqlalchemy import func, literal, select, update
from sqlalchemy.orm import Session, sessionmaker

from ticketd.core.clock import utcnow
from ticketd.core.housekeeping import Purged, purge
from ticketd.core.jobs.bulk_updates import run_bulk_update
from ticketd.core.jobs.exports import run_export
from ticketd.core.jobs.imports import run_import
from ticketd.core.jobs.lease import Lease, Lost, Released
from ticketd.core.mail.imap import MailboxWatchers
from ticketd.core.mail.inbound import MailLimits
from ticketd.core.mail.pacing import Pacer
from ticketd.core.mail.sending import MailOut, SmtpServer
from ticketd.core.operation_params import BulkUpdateParams, ExportParams, ImportParams, OperationKind
from ticketd.core.operations import FINISHED, OperationStatus
from ticketd.core.server_key import server_keys
from ticketd.core.signing_keys import keyring_sealer
from ticketd.core.webhooks.fanout import announce_finished
from ticketd.settings import Settings
from ticketd.store.engine import refresh_statistics, unit_of_work
from ticketd.store.tables import Operation, Stamp
from ticketd.store.text_index import index_new_tickets
from ticketd.telemetry.metrics import LEASE_LOSSES, OPERATIONS_FINISHED

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 300
MAILBOX_LOOK_SECONDS = 10


class Worker:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        lease: timedelta = timedelta(seconds=30),
        retention: timedelta = timedelta(days=7),
        idempotency_ttl: timedelta = timedelta(days=1),
        unclaimed_attachments: timedelta = timedelta(hours=24),
        mail: MailOut | None = None,
        mailboxes: MailboxWatchers | None = None,
    ) -> None:
        self.sessions = sessions
        self.lease = lease
        self.retention = retention
        self.idempotency_ttl = idempotency_ttl
        self.unclaimed_attachments = unclaimed_attachments
        self.mail = mail
        self.mailboxes = mailboxes
        self._last_mailbox_look = -float(MAILBOX_LOOK_SECONDS)
        self._last_purge = 0.0
        # Set when the process is stopping: jobs give their operation back between steps.
        self.stopping = threading.Event()
        # Host and process: an operator (or a test) can tell which process holds a lease.
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    def run_forever(self, stop: threading.Event, idle_seconds: float = 0.5) -> None:
        self.stopping = stop
        try:
            self._loop(stop, idle_seconds)
        finally:
            if self.mailboxes is not None:
                self.mailboxes.close()

    def _loop(self, stop: threading.Event, idle_seconds: float) -> None:
        while not stop.is_set():
            try:
                self._purge_now_and_then()
                self._look_at_mailboxes_now_and_then()
                worked = self.run_once()
                # New tickets into the text index, a batch a turn (store/text_index.py).
                worked = index_new_tickets(self.sessions) > 0 or worked
                if self.mail is not None:
                    worked = self.mail.turn() or worked
            except Exception:
                log.exception("worker %s: unexpected error", self.name)
                worked = False
            if not worked:
                stop.wait(idle_seconds)

    def _look_at_mailboxes_now_and_then(self) -> None:
        """Channels' mailboxes are followed by threads of their own (core/mail/imap.py); which
        there are is read again now and then, so a channel added or changed is followed soon."""
        if self.mailboxes is None or time.monotonic() - self._last_mailbox_look < MAILBOX_LOOK_SECONDS:
            return
        self._last_mailbox_look = time.monotonic()
        self.mailboxes.refresh()

    def _purge_now_and_then(self) -> None:
        if time.monotonic() - self._last_purge < PURGE_EVERY_SECONDS:
            return
        self._last_purge = time.monotonic()
        self.purge()

    def purge(self) -> Purged:
        """Housekeeping (core/housekeeping.py); any worker may do it, and it is idempotent."""
        with unit_of_work(self.sessions, write=True) as db:
            purged = purge(
                db,
                now=utcnow(),
                retention=self.retention,
                idempotency_ttl=self.idempotency_ttl,
                unclaimed_attachments=self.unclaimed_attachments,
            )
            db.commit()
        refresh_statistics(self.sessions)
        if any(astuple(purged)):
            log.info("worker %s: purged %s", self.name, purged)
        return purged

    def run_once(self) -> bool:
        """Claims and runs one operation; False when there was none to claim."""
        claimed = self._claim()
        if claimed is None:
            return False
        lease, kind, params = claimed
        try:
            run_job(lease, kind, params)
        except Released:
            log.info(
                "worker %s: stopping; operation %s released for another worker", self.name, lease.operation_id
            )
            return True
        except Lost:
            LEASE_LOSSES.inc()
            log.info("worker %s: operation %s is no longer ours", self.name, lease.operation_id)
            return True
        except Exception as exc:
            log.exception("worker %s: operation %s failed", self.name, lease.operation_id)
            self._fail(lease.operation_id, error={"code": "internal", "message": type(exc).__name__})
        self._count_finished(lease.operation_id, kind)
        return True

    def _count_finished(self, operation_id: int, kind: str) -> None:
        with unit_of_work(self.sessions, write=False) as db:
            status = db.scalar(select(Operation.status).where(Operation.id == operation_id))
        if status in FINISHED:
            OPERATIONS_FINISHED.labels(kind, status).inc()

    def _claim(self) -> tuple[Lease, str, dict[str, Any]] | None:
        now = utcnow()
        with unit_of_work(self.sessions, write=True) as db:
            candidates = (
                select(Operation.id)
                .where(
                    Operation.parent_id.is_(None),
                    (Operation.status == OperationStatus.PENDING.value)
                    | (
                        (Operation.status == OperationStatus.RUNNING.value)
                        & (Operation.lease_expires_at < now)
                    ),
                )
                .order_by(Operation.id)
                .limit(1)
            )
            if db.get_bind().dialect.name == "postgresql":
                candidates = candidates.with_for_update(skip_locked=True)
            operation_id = db.scalar(candidates)
            if operation_id is None:
                return None
            db.execute(
                update(Operation)
                .where(Operation.id == operation_id)
                .values(
                    status=OperationStatus.RUNNING.value,
                    lease_owner=self.name,
                    lease_expires_at=now + self.lease,
                    started_at=func.coalesce(Operation.started_at, literal(now, Stamp)),
                    version=Operation.version + 1,
                )
            )
            operation = db.get(Operation, operation_id)
            assert operation is not None
            lease = Lease(
                self.sessions,
                self.name,
                self.lease,
                operation_id=operation.id,
                tenant_id=operation.tenant_id,
                created_by=operation.created_by,
                stopping=self.stopping,
            )
            claimed = (lease, operation.kind, dict(operation.params))
            db.commit()
            return claimed

    def _fail(self, operation_id: int, *, error: dict[str, Any]) -> None:
        with unit_of_work(self.sessions, write=True) as db:
            operation = db.get(Operation, operation_id)
            if operation is None or operation.lease_owner != self.name or operation.status in FINISHED:
                return
            operation.status, operation.error = OperationStatus.FAILED.value, error
            operation.finished_at, operation.lease_owner = utcnow(), None
            operation.version += 1
            announce_finished(db, operation)
            db.commit()


def run_job(lease: Lease, kind: str, params: dict[str, Any]) -> None:
    """The job of the operation's kind, with its parameters read back into their type."""
    match OperationKind(kind):
        case OperationKind.IMPORT:
            run_import(lease, ImportParams.model_validate(params))
        case OperationKind.EXPORT:
            run_export(lease, ExportParams.model_validate(params))
        case OperationKind.BULK_UPDATE:
            run_bulk_update(lease, BulkUpdateParams.model_validate(params))
        case OperationKind.BULK_UPDATE_PART:
            raise ValueError("a bulk update's part runs as part of its parent")


def worker_for(
    settings: Settings, sessions: sessionmaker[Session], *, mail: bool = True, embedded: bool = False
) -> Worker:
    """A worker as the settings make it; `mail` False for a command's own worker (an import's),
    which runs operations only and leaves mail to the servers' and workers' own. `embedded`: the
    server's own, whose mail work is kept to `TICKETD_EMBEDDED_MAIL_SHARE` of the processor, so
    that the lookups it answers keep theirs (core/mail/pacing.py)."""
    pacer = Pacer(settings.embedded_mail_share if embedded else 1.0)
    return Worker(
        sessions,
        lease=timedelta(seconds=settings.worker_lease_seconds),
        retention=timedelta(days=settings.operations_retention_days),
        idempotency_ttl=timedelta(seconds=settings.idempotency_ttl_seconds),
        unclaimed_attachments=timedelta(hours=settings.unclaimed_attachment_hours),
        mail=MailOut(sessions, SmtpServer.from_settings(settings), settings.mail_retry_delays, pacer)
        if mail
        else None,
        mailboxes=MailboxWatchers(
            sessions,
            keyring_sealer(server_keys(settings)),
            MailLimits.of(settings),
            settings.imap_ca_file,
            pacer,
        )
        if mail
        else None,
    )
