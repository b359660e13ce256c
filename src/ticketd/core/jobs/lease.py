"""A worker's hold on one operation, as a job sees it.

Every step of a job is one transaction that first checks the operation is still this worker's
(its lease not taken over, the operation not canceled) and, with its own writes, renews the lease:
so a step either lands whole, with the progress that says it landed, or not at all.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session, object_session, sessionmaker

from ticketd.core.clock import utcnow
from ticketd.core.operations import FINISHED, OperationStatus
from ticketd.core.principal import Principal, Role
from ticketd.core.webhooks.fanout import announce_finished
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import Operation, User


class Lost(Exception):
    """The lease went to another worker, or the operation was canceled: stop without writing."""


class Released(Lost):
    """The worker is stopping: it gave the operation back between two steps, for another worker
    (or itself, restarted) to resume at once from the last step that landed."""


class Lease:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        owner: str,
        duration: timedelta,
        *,
        operation_id: int,
        tenant_id: int,
        created_by: int | None,
        stopping: threading.Event | None = None,
    ) -> None:
        self.sessions = sessions
        self.stopping = stopping
        self.owner = owner
        self.duration = duration
        self.operation_id = operation_id
        self.tenant_id = tenant_id
        self.created_by = created_by

    @contextmanager
    def step(self) -> Iterator[tuple[Session, Operation]]:
        """One transaction on the operation, which the caller commits; raises Lost if it is not ours,
        Released (having released it) if the worker is stopping."""
        if self.stopping is not None and self.stopping.is_set():
            self.release()
            raise Released(str(self.operation_id))
        with unit_of_work(self.sessions, write=True) as db:
            yield db, self.still_ours(db)

    def release(self) -> None:
        """Gives the operation back, still running, with a lease that has already run out."""
        with unit_of_work(self.sessions, write=True) as db:
            try:
                operation = self.still_ours(db)
            except Lost:
                return
            operation.lease_owner = None
            operation.lease_expires_at = utcnow() - timedelta(seconds=1)
            operation.version += 1
            db.commit()

    def still_ours(self, db: Session) -> Operation:
        if db.get_bind().dialect.name == "postgresql":
            db.execute(text("SELECT 1 FROM operations WHERE id = :id FOR UPDATE"), {"id": self.operation_id})
        operation = db.get(Operation, self.operation_id)
        if operation is None or operation.status in FINISHED or operation.lease_owner != self.owner:
            raise Lost(str(self.operation_id))
        return operation

    def renew(self, operation: Operation) -> None:
        """Records a step: the lease runs for another period and the operation has a new version."""
        operation.lease_expires_at = utcnow() + self.duration
        operation.version += 1

    def complete(self, operation: Operation, result: dict[str, Any] | None = None) -> None:
        """The operation is done: completed, released, with its result if one is given."""
        if result is not None:
            operation.result = result
        operation.status = OperationStatus.COMPLETED.value
        operation.finished_at = utcnow()
        operation.lease_owner = None
        operation.version += 1
        db = object_session(operation)
        if db is not None:
            announce_finished(db, operation)

    def acting(self, db: Session) -> Principal:
        """Who the job acts as: the user who started the operation, as they are now."""
        user = db.get(User, self.created_by) if self.created_by is not None else None
        if user is None or user.tenant_id != self.tenant_id:
            raise ValueError("the operation needs the user who started it")
        return Principal(tenant_id=self.tenant_id, user_id=user.id, role=Role(user.role))
