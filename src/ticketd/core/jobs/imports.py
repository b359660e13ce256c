"""An import: the stored upload parsed row by row, good rows inserted in chunks, each chunk committed
with the number of the last row it covers, so a resumed import skips exactly what landed."""

from __future__ import annotations

import io
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ticketd.core.importer import ParsedRow, RowError, parse_rows, to_new_ticket
from ticketd.core.jobs.lease import Lease
from ticketd.core.operation_params import ImportParams
from ticketd.core.operations import check_import, parts
from ticketd.store.bulk import insert_tickets
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import Operation, User

CHUNK_ROWS = 2000
KEPT_ERRORS = 1000


def run_import(lease: Lease, params: ImportParams) -> None:
    with unit_of_work(lease.sessions, write=False) as db:
        if lease.created_by is not None:
            # The importer's role is checked again now: one who is no longer staff imports nothing.
            check_import(lease.acting(db))
        operation = db.get(Operation, lease.operation_id)
        done = operation.progress_done if operation is not None else 0
        known_users = set(db.scalars(select(User.id).where(User.tenant_id == lease.tenant_id)))
    batch: list[ParsedRow] = []
    errors: list[RowError] = []
    last_row = done
    stream = io.BufferedReader(PartsReader(lease.sessions, lease.operation_id))
    for item in parse_rows(stream, params.format):
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
            _commit_chunk(lease, batch, errors, last_row)
            batch, errors = [], []
    _commit_chunk(lease, batch, errors, last_row, final=True)


def _commit_chunk(
    lease: Lease, batch: list[ParsedRow], errors: list[RowError], last_row: int, *, final: bool = False
) -> None:
    with lease.step() as (db, operation):
        insert_tickets(
            db, lease.tenant_id, [to_new_ticket(parsed.ticket, lease.created_by) for parsed in batch]
        )
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
        lease.renew(operation)
        if final:
            operation.progress_total = last_row
            lease.complete(operation)
        db.commit()


class PartsReader(io.RawIOBase):
    """The operation's stored parts as one readable stream, fetched a part at a time."""

    def __init__(self, sessions: sessionmaker[Session], operation_id: int) -> None:
        self._parts = parts(sessions, operation_id)
        # What is left of the current part, as a view: reading on copies nothing twice.
        self._left = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        if not self._left:
            self._left = memoryview(next(self._parts, b""))
        size = min(len(target), len(self._left))
        target[:size] = self._left[:size]
        self._left = self._left[size:]
        return size
