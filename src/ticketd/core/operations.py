"""Long-running operations: created at once with their input stored, run later by a worker, polled by id."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import IO

from pydantic import BaseModel
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session, sessionmaker

from ticketd.core.clock import utcnow
from ticketd.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound, TooLarge
from ticketd.core.etags import operation_etag
from ticketd.core.exports import check_export, count_matching
from ticketd.core.importer import Format
from ticketd.core.operation_params import BulkUpdateParams, ExportParams, ImportParams, OperationKind
from ticketd.core.principal import Principal
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import Operation, OperationPart

PART_BYTES = 1 << 20


class OperationStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"


FINISHED = frozenset({OperationStatus.COMPLETED, OperationStatus.FAILED, OperationStatus.CANCELED})


class UploadTooLarge(TooLarge):
    pass


@dataclass(frozen=True)
class Upload:
    fmt: Format
    chunks: Iterator[bytes]
    limit: int


def etag_of(operation: Operation) -> str:
    return operation_etag(operation.id, operation.version)


def check_import(principal: Principal) -> None:
    """Imports set every field of many tickets at once (requester, status, dates): staff only."""
    if not principal.is_staff:
        raise Forbidden("only staff may import tickets")


def start_import(db: Session, *, tenant_id: int, by: Principal | None, upload: Upload) -> Operation:
    """Stores the upload as parts of the operation and leaves it pending for a worker.

    `by` is the staff member importing; None for an operator's command (`ticketd ticket import`
    without `--as`).
    """
    if by is not None:
        check_import(by)
        if by.tenant_id != tenant_id:
            raise Forbidden("an import goes to the importer's own tenant")
    created_by = by.user_id if by is not None else None
    operation = pending_operation(
        db, tenant_id, OperationKind.IMPORT, created_by, ImportParams(format=upload.fmt)
    )
    size = lines = seq = 0
    buffer = bytearray()
    for chunk in upload.chunks:
        size += len(chunk)
        if size > upload.limit:
            raise UploadTooLarge(f"the upload exceeds {upload.limit} bytes")
        lines += chunk.count(b"\n")
        buffer += chunk
        while len(buffer) >= PART_BYTES:
            _store_part(db, operation.id, seq, bytes(buffer[:PART_BYTES]))
            del buffer[:PART_BYTES]
            seq += 1
    if buffer:
        lines += 0 if buffer.endswith(b"\n") else 1
        _store_part(db, operation.id, seq, bytes(buffer))
    # An estimate until the worker has read it all: lines, less a CSV header.
    operation.progress_total = max(0, lines - (1 if upload.fmt == "csv" else 0))
    db.flush()
    return operation


def sniff_upload(fmt: Format, head: bytes) -> None:
    """A file that is not what it says is refused at once, not after a worker has read it."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped:
        raise InvalidInput("the upload is empty")
    if b"\x00" in head:
        raise InvalidInput("the upload is binary, neither CSV nor JSON lines")
    if fmt == "jsonl" and not stripped.startswith(b"{"):
        raise InvalidInput("JSON lines must have one JSON object per line")
    if fmt == "csv" and b"subject" not in stripped.split(b"\n", 1)[0].lower():
        raise InvalidInput("the CSV upload needs a header row with a 'subject' column")


BULK_PART_SIZE = 500


def _store_part(db: Session, operation_id: int, seq: int, data: bytes) -> None:
    # A statement, not an ORM object: the session keeps no copy of the part until the commit, so
    # storing an upload of any size holds one part in memory at a time.
    db.execute(insert(OperationPart).values(operation_id=operation_id, seq=seq, data=data))


def start_bulk_update(db: Session, principal: Principal, params: BulkUpdateParams) -> Operation:
    """A bulk update by tag or filter: set status, assignee, priority; add or remove tags.

    The worker splits the matching tickets into parts, each a child operation done in one transaction.
    """
    if not principal.is_staff:
        raise Forbidden("only staff may update tickets in bulk")
    if (params.tag is None) == (params.filter is None):
        raise InvalidInput(
            "name either a tag or a filter", [FieldError("/tag", "one of tag or filter is required")]
        )
    if not (params.set.model_dump(exclude_none=True) or params.add_tags or params.remove_tags):
        raise InvalidInput("nothing to change", [FieldError("/set", "set fields, or add or remove tags")])
    return pending_operation(db, principal.tenant_id, OperationKind.BULK_UPDATE, principal.user_id, params)


def start_export(db: Session, principal: Principal, params: ExportParams) -> Operation:
    """An export of the tickets matching a filter; the file is the operation's parts once it is done."""
    check_export(principal)
    total = count_matching(db, principal, params)
    return pending_operation(db, principal.tenant_id, OperationKind.EXPORT, principal.user_id, params, total)


def pending_operation(
    db: Session,
    tenant_id: int,
    kind: OperationKind,
    created_by: int | None,
    params: BaseModel,
    progress_total: int | None = None,
    parent_id: int | None = None,
) -> Operation:
    """A new operation waiting for a worker, its parameters stored as JSON, flushed so it has its id."""
    operation = Operation(
        tenant_id=tenant_id,
        parent_id=parent_id,
        kind=kind.value,
        status=OperationStatus.PENDING.value,
        version=1,
        progress_done=0,
        progress_total=progress_total,
        params=params.model_dump(mode="json", exclude_none=True),
        created_by=created_by,
        created_at=utcnow(),
    )
    db.add(operation)
    db.flush()
    return operation


def parts(sessions: sessionmaker[Session], operation_id: int) -> Iterator[bytes]:
    """The operation's stored parts in order, each read in a short transaction of its own and
    dropped before the next: a file of any size is streamed a part (a megabyte) at a time."""
    seq = 0
    while True:
        with unit_of_work(sessions, write=False) as db:
            data = db.scalar(
                select(OperationPart.data).where(
                    OperationPart.operation_id == operation_id, OperationPart.seq == seq
                )
            )
        if data is None:
            return
        yield data
        seq += 1


def get_operation(db: Session, principal: Principal, operation_id: int) -> Operation:
    operation = db.get(Operation, operation_id)
    if (
        operation is None
        or operation.tenant_id != principal.tenant_id
        or (principal.is_customer and operation.created_by != principal.user_id)
    ):
        raise NotFound(f"operation {operation_id} does not exist")
    return operation


def list_operations(db: Session, principal: Principal, *, limit: int, before: int | None) -> list[Operation]:
    query = select(Operation).where(Operation.tenant_id == principal.tenant_id, Operation.parent_id.is_(None))
    if principal.is_customer:
        query = query.where(Operation.created_by == principal.user_id)
    if before is not None:
        query = query.where(Operation.id < before)
    return list(db.scalars(query.order_by(Operation.id.desc()).limit(limit)))


def children(db: Session, operation: Operation) -> list[Operation]:
    return list(
        db.scalars(select(Operation).where(Operation.parent_id == operation.id).order_by(Operation.id))
    )


def cancel(db: Session, principal: Principal, operation_id: int) -> Operation:
    return cancel_operation(db, get_operation(db, principal, operation_id))


def cancel_operation(db: Session, operation: Operation) -> Operation:
    """Cancels a pending or running operation (an operator's command; callers check visibility)."""
    operation_id = operation.id
    if operation.status in FINISHED:
        raise Conflict(f"operation {operation_id} has already {operation.status}")
    # A running worker sees this at its next commit and stops; what it committed stays.
    operation.status = OperationStatus.CANCELED.value
    operation.finished_at = utcnow()
    operation.version += 1
    db.flush()
    return operation


def purge_finished(db: Session, *, finished_before: datetime) -> int:
    """Deletes operations finished before the cut-off, with their parts and children. Returns how many."""
    old = list(
        db.scalars(
            select(Operation.id).where(
                Operation.parent_id.is_(None),
                Operation.status.in_([status.value for status in FINISHED]),
                Operation.finished_at < finished_before,
            )
        )
    )
    if not old:
        return 0
    family = old + list(db.scalars(select(Operation.id).where(Operation.parent_id.in_(old))))
    db.execute(delete(OperationPart).where(OperationPart.operation_id.in_(family)))
    db.execute(delete(Operation).where(Operation.parent_id.in_(old)))
    db.execute(delete(Operation).where(Operation.id.in_(old)))
    return len(old)


def read_chunks(stream: IO[bytes], size: int = 1 << 16) -> Iterator[bytes]:
    while chunk := stream.read(size):
        yield chunk
