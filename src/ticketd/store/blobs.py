"""Attachments' bytes in the store: a blob per tenant and SHA-256, in parts of a megabyte, written
and read a part at a time so that a file of any size costs one part of memory."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import IO

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session, sessionmaker

from ticketd.store.engine import unit_of_work
from ticketd.store.tables import Attachment, AttachmentBlob, AttachmentPart

PART_BYTES = 1 << 20


def write_parts(db: Session, blob_id: int, source: IO[bytes]) -> str:
    """Copies `source` from its start into the blob's parts; the SHA-256 of what was written."""
    source.seek(0)
    digest = hashlib.sha256()
    seq = 0
    while data := source.read(PART_BYTES):
        digest.update(data)
        # A statement, not an ORM object: the session keeps no copy of the part.
        db.execute(insert(AttachmentPart).values(blob_id=blob_id, seq=seq, data=data))
        seq += 1
    return digest.hexdigest()


def read_parts(
    sessions: sessionmaker[Session], blob_id: int, start: int = 0, end: int | None = None
) -> Iterator[bytes]:
    """Bytes start..end (inclusive; None: to the last) of a blob, a part at a time, each part read
    in a short transaction of its own and dropped before the next."""
    seq, skip = divmod(start, PART_BYTES)
    left = None if end is None else end - start + 1
    while left is None or left > 0:
        with unit_of_work(sessions, write=False) as db:
            data = db.scalar(
                select(AttachmentPart.data).where(
                    AttachmentPart.blob_id == blob_id, AttachmentPart.seq == seq
                )
            )
        if data is None:
            return
        piece = data[skip:] if left is None else data[skip : skip + left]
        del data
        if left is not None:
            left -= len(piece)
        skip = 0
        seq += 1
        if piece:
            yield piece


def free_unused(db: Session, tenant_id: int, blob_ids: Sequence[int] | None = None) -> int:
    """Deletes the tenant's blobs that no attachment names (of those given, or all); how many."""
    used = select(Attachment.blob_id).where(Attachment.tenant_id == tenant_id)
    query = select(AttachmentBlob.id).where(
        AttachmentBlob.tenant_id == tenant_id, AttachmentBlob.id.not_in(used)
    )
    if blob_ids is not None:
        query = query.where(AttachmentBlob.id.in_(blob_ids))
    unused = list(db.scalars(query))
    if unused:
        db.execute(delete(AttachmentPart).where(AttachmentPart.blob_id.in_(unused)))
        db.execute(delete(AttachmentBlob).where(AttachmentBlob.id.in_(unused)))
    return len(unused)
