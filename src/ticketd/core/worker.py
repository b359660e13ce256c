"""Running operations from the store, exactly once, on any number of workers on any host.

A worker claims a pending operation, or a running one whose lease has run out, by setting a lease
in the same statement that picks it (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: the write lock).
It then works in chunks: each chunk's tickets, the operation's progress and its renewed lease are
one transaction. A worker killed mid-chunk loses that chunk's transaction and nothing else; when its
lease runs out another worker resumes after the last committed row, so every row lands once.
"""

from __future__ import annotations

import io
import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from sqlalchemy import func, literal, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from ticketd.core import exports
from ticketd.core.bulk_updates import apply_bulk_changes, matching_ticket_ids
from ticketd.core.clock import utcnow
from ticketd.core.importer import ImportRow, ParsedRow, RowError, parse_rows, to_new_ticket
from ticketd.core.operations import BULK_PART_SIZE, FINISHED, OperationStatus, purge_finished
from ticketd.core.operations import children as operation_children
from ticketd.core.principal import Principal, Role
from ticketd.settings import Settings
from ticketd.store.bulk import insert_tickets
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import Operation, OperationPart, Stamp, User
from ticketd.store.ticket_changes import prune_ticket_changes

log = logging.getLogger(__name__)

CHUNK_ROWS = 2000
PURGE_EVERY_SECONDS = 300
KEPT_ERRORS = 1000


class Lost(Exception):
    """The lease went to another worker, or the operation was canceled: stop without writing."""


class Worker:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        lease: timedelta = timedelta(seconds=30),
        retention: timedelta = timedelta(days=7),
    ) -> None:
        self.sessions = sessions
        self.lease = lease
        self.retention = retention
        self._last_purge = 0.0
        self.name = f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"

    def run_forever(self, stop: threading.Event, idle_seconds: float = 0.5) -> None:
        while not stop.is_set():
            try:
                self._purge_now_and_then()
                worked = self.run_once()
            except Exception:
                log.exception("worker %s: unexpected error", self.name)
                worked = False
            if not worked:
                stop.wait(idle_seconds)

    def _purge_now_and_then(self) -> None:
        # Finished operations are kept for the retention period, then purged with their files
        # (parts); the log of changed tickets is cut to its newest entries. Any worker may do it;
        # both are idempotent.
        if time.monotonic() - self._last_purge < PURGE_EVERY_SECONDS:
            return
        self._last_purge = time.monotonic()
        with unit_of_work(self.sessions, write=True) as db:
            purged = purge_finished(db, finished_before=utcnow() - self.retention)
            prune_ticket_changes(db)
            db.commit()
        if purged:
            log.info("worker %s: purged %d finished operations", self.name, purged)

    def run_once(self) -> bool:
        operation_id = self._claim()
        if operation_id is None:
            return False
        try:
            self._run(operation_id)
        except Lost:
            log.info("worker %s: operation %s is no longer ours", self.name, operation_id)
        except Exception as exc:
            log.exception("worker %s: operation %s failed", self.name, operation_id)
            self._finish(
                operation_id,
                OperationStatus.FAILED,
                error={"code": "internal", "message": type(exc).__name__},
            )
        return True

    def _claim(self) -> int | None:
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
            db.commit()
            return int(operation_id)

    def _run(self, operation_id: int) -> None:
        with unit_of_work(self.sessions, write=False) as db:
            operation = db.get(Operation, operation_id)
            assert operation is not None
            kind, tenant_id, creator, params, done = (
                operation.kind,
                operation.tenant_id,
                operation.created_by,
                dict(operation.params),
                operation.progress_done,
            )
            known_users = set(db.scalars(select(User.id).where(User.tenant_id == tenant_id)))
        if kind == "import":
            self._import(operation_id, tenant_id, creator, params["format"], done, known_users)
        elif kind == "export":
            self._export(operation_id, tenant_id, creator, params)
        elif kind == "bulk_update":
            self._bulk_update(operation_id, tenant_id, creator, params)
        else:
            raise ValueError(f"unknown operation kind {kind!r}")

    def _export(self, operation_id: int, tenant_id: int, creator: int | None, params: dict[str, Any]) -> None:
        while True:
            with unit_of_work(self.sessions, write=True) as db:
                operation = self._still_ours(db, operation_id)
                principal = _acting(db, tenant_id, creator)
                state = dict(operation.result or {"last_id": 0, "parts": 0, "rows": 0})
                rows = exports.next_chunk(db, principal, params, state["last_id"], CHUNK_ROWS)
                if rows or state["parts"] == 0:
                    # The chunk of the file and the cursor that produced it commit together.
                    data = exports.render(rows, params["format"], header=state["parts"] == 0)
                    db.add(OperationPart(operation_id=operation_id, seq=state["parts"], data=data))
                    state = {
                        "last_id": rows[-1].id if rows else 0,
                        "parts": state["parts"] + 1,
                        "rows": state["rows"] + len(rows),
                    }
                operation.result = state
                operation.progress_done = state["rows"]
                operation.lease_expires_at = utcnow() + self.lease
                operation.version += 1
                if len(rows) < CHUNK_ROWS:
                    operation.progress_total = state["rows"]
                    operation.status, operation.finished_at = OperationStatus.COMPLETED.value, utcnow()
                    operation.lease_owner = None
                    db.commit()
                    return
                db.commit()

    def _bulk_update(
        self, operation_id: int, tenant_id: int, creator: int | None, params: dict[str, Any]
    ) -> None:
        with unit_of_work(self.sessions, write=True) as db:
            operation = self._still_ours(db, operation_id)
            principal = _acting(db, tenant_id, creator)
            if not operation_children(db, operation):
                # Split the matching tickets into parts once; each part is a child operation.
                ids = matching_ticket_ids(db, principal, params)
                for start in range(0, len(ids), BULK_PART_SIZE):
                    db.add(
                        Operation(
                            tenant_id=tenant_id,
                            parent_id=operation_id,
                            kind="bulk_update_part",
                            status=OperationStatus.PENDING.value,
                            version=1,
                            progress_done=0,
                            progress_total=len(ids[start : start + BULK_PART_SIZE]),
                            params={"ticket_ids": ids[start : start + BULK_PART_SIZE]},
                            created_by=creator,
                            created_at=utcnow(),
                        )
                    )
                operation.progress_total = len(ids)
                operation.version += 1
                db.commit()
        while True:
            with unit_of_work(self.sessions, write=True) as db:
                operation = self._still_ours(db, operation_id)
                part = next((c for c in operation_children(db, operation) if c.status not in FINISHED), None)
                if part is None:
                    totals = [c.result or {} for c in operation_children(db, operation)]
                    operation.result = {
                        "updated": sum(t.get("updated", 0) for t in totals),
                        "failed": sum(len(t.get("errors", [])) for t in totals),
                    }
                    operation.status, operation.finished_at = OperationStatus.COMPLETED.value, utcnow()
                    operation.lease_owner = None
                    operation.version += 1
                    db.commit()
                    return
                principal = _acting(db, tenant_id, creator)
                # The part's changes, its completion and the parent's progress: one transaction.
                result = apply_bulk_changes(db, principal, part.params["ticket_ids"], params)
                now = utcnow()
                part.status, part.result, part.progress_done = (
                    OperationStatus.COMPLETED.value,
                    result,
                    part.progress_total or 0,
                )
                part.started_at, part.finished_at, part.version = now, now, part.version + 1
                operation.progress_done += part.progress_total or 0
                operation.lease_expires_at = now + self.lease
                operation.version += 1
                db.commit()

    def _import(
        self,
        operation_id: int,
        tenant_id: int,
        creator: int | None,
        fmt: Any,
        done: int,
        known_users: set[int],
    ) -> None:
        batch: list[ParsedRow] = []
        errors: list[RowError] = []
        last_row = done
        for item in parse_rows(io.BufferedReader(_PartsReader(self.sessions, operation_id)), fmt):
            if item.row <= done:
                continue  # committed by an earlier run of this operation
            last_row = item.row
            if isinstance(item, RowError):
                errors.append(item)
            elif item.ticket.requester_id is not None and item.ticket.requester_id not in known_users:
                errors.append(
                    RowError(item.row, "requester_id", f"no user {item.ticket.requester_id} in this tenant")
                )
            else:
                batch.append(item)
            if len(batch) >= CHUNK_ROWS:
                self._commit_chunk(operation_id, tenant_id, creator, batch, errors, last_row)
                batch, errors = [], []
        self._commit_chunk(operation_id, tenant_id, creator, batch, errors, last_row, final=True)

    def _commit_chunk(
        self,
        operation_id: int,
        tenant_id: int,
        creator: int | None,
        batch: list[ParsedRow],
        errors: list[RowError],
        last_row: int,
        *,
        final: bool = False,
    ) -> None:
        with unit_of_work(self.sessions, write=True) as db:
            operation = self._still_ours(db, operation_id)
            insert_tickets(db, tenant_id, [to_new_ticket(_row(p), creator) for p in batch])
            result = dict(operation.result or {"imported": 0, "rejected_rows": 0, "errors": []})
            result["imported"] += len(batch)
            result["rejected_rows"] += len({e.row for e in errors})
            kept = list(result["errors"])
            kept += [{"row": e.row, "field": e.field, "reason": e.reason} for e in errors][
                : KEPT_ERRORS - len(kept)
            ]
            result["errors"] = kept
            operation.result = result
            operation.progress_done = last_row
            operation.lease_expires_at = utcnow() + self.lease
            operation.version += 1
            if final:
                operation.progress_total = last_row
                operation.status = OperationStatus.COMPLETED.value
                operation.finished_at = utcnow()
                operation.lease_owner = None
            db.commit()

    def _still_ours(self, db: Session, operation_id: int) -> Operation:
        if db.get_bind().dialect.name == "postgresql":
            db.execute(text("SELECT 1 FROM operations WHERE id = :id FOR UPDATE"), {"id": operation_id})
        operation = db.get(Operation, operation_id)
        if operation is None or operation.status in FINISHED or operation.lease_owner != self.name:
            raise Lost(str(operation_id))
        return operation

    def _finish(self, operation_id: int, status: OperationStatus, *, error: dict[str, Any]) -> None:
        with unit_of_work(self.sessions, write=True) as db:
            operation = db.get(Operation, operation_id)
            if operation is None or operation.lease_owner != self.name or operation.status in FINISHED:
                return
            operation.status, operation.error = status.value, error
            operation.finished_at, operation.lease_owner = utcnow(), None
            operation.version += 1
            db.commit()


def _acting(db: Session, tenant_id: int, creator: int | None) -> Principal:
    user = db.get(User, creator) if creator is not None else None
    if user is None or user.tenant_id != tenant_id:
        raise ValueError("a bulk update needs the staff member who started it")
    return Principal(tenant_id=tenant_id, user_id=user.id, role=Role(user.role))


def worker_for(settings: Settings, sessions: sessionmaker[Session]) -> Worker:
    return Worker(
        sessions,
        lease=timedelta(seconds=settings.worker_lease_seconds),
        retention=timedelta(days=settings.operations_retention_days),
    )


def _row(parsed: ParsedRow) -> ImportRow:
    return parsed.ticket


class _PartsReader(io.RawIOBase):
    """The operation's stored parts as one readable stream, fetched a part at a time."""

    def __init__(self, sessions: sessionmaker[Session], operation_id: int) -> None:
        self._parts = self._fetch(sessions, operation_id)
        self._buffer = b""

    @staticmethod
    def _fetch(sessions: sessionmaker[Session], operation_id: int) -> Iterator[bytes]:
        seq = 0
        while True:
            with unit_of_work(sessions, write=False) as db:
                part = db.get(OperationPart, (operation_id, seq))
                data = part.data if part else None
            if data is None:
                return
            yield data
            seq += 1

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        if not self._buffer:
            self._buffer = next(self._parts, b"")
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size
