"""Files as every face takes them in: the request body itself (its type in Content-Type, its name
in Content-Disposition), or a `multipart/form-data` field (what a browser's form and the Huawei
SDK send). Either way the bytes go to a temporary file as they arrive (memory holds a megabyte at
most), are measured and hashed on the way, and are refused past the limit before anything is
stored."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import IO

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from ticketd.core.attachments import IncomingFile
from ticketd.core.errors import FieldError, InvalidInput, TooLarge
from ticketd.web.negotiation import media_type_of

SPOOL_IN_MEMORY = 1 << 20
READ_BYTES = 1 << 16
# A form's fields other than the file are short: a name, a JSON string of the SDK's.
MAX_FORM_FIELD_BYTES = 64 * 1024
# Room for a multipart body's boundaries and part headers around the file, in the guards' limit.
MULTIPART_OVERHEAD = 256 * 1024


@dataclass(frozen=True)
class Measured:
    size: int
    sha256: str


def filename_of(disposition: str | None) -> str | None:
    """The file name of a Content-Disposition header (RFC 6266), `filename*` (RFC 8187) first."""
    if not disposition:
        return None
    message = EmailMessage()
    try:
        message["content-disposition"] = disposition
        name = message.get_filename()
    except (ValueError, TypeError, IndexError):
        return None
    return name or None


@asynccontextmanager
async def body_file(request: Request, limit: int, default_name: str = "file") -> AsyncIterator[IncomingFile]:
    """The request body as a file."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spooled:
        measured = await _copy(request.stream(), spooled, limit)
        yield IncomingFile(
            filename=filename_of(request.headers.get("content-disposition")) or default_name,
            claimed_type=media_type_of(request.headers.get("content-type")) or None,
            source=spooled,
            size=measured.size,
            sha256=measured.sha256,
        )


@asynccontextmanager
async def form_file(
    request: Request, limit: int, field: str = "file"
) -> AsyncIterator[tuple[IncomingFile, FormData]]:
    """The form's file field as a file, with the form's other fields."""
    async with form_files(request, limit, (field,), max_files=1) as (files, form):
        if not files:
            raise InvalidInput("the form has no file", [FieldError(f"/{field}", "attach the file here")])
        yield files[0], form


@asynccontextmanager
async def form_files(
    request: Request, limit: int, fields: tuple[str, ...], max_files: int
) -> AsyncIterator[tuple[list[IncomingFile], FormData]]:
    """The files in these fields of the form (none, one or several each), with the form's fields."""
    form = await request.form(max_files=max_files, max_fields=32, max_part_size=MAX_FORM_FIELD_BYTES)
    try:
        files: list[IncomingFile] = []
        for field in fields:
            for value in form.getlist(field):
                if not isinstance(value, UploadFile):
                    raise InvalidInput(
                        f"{field} must be a file", [FieldError(f"/{field}", "send it as a file of the form")]
                    )
                measured = await run_in_threadpool(_measure, value.file, limit, value.filename)
                files.append(
                    IncomingFile(
                        filename=value.filename or "file",
                        claimed_type=media_type_of(value.content_type) or None,
                        source=value.file,
                        size=measured.size,
                        sha256=measured.sha256,
                    )
                )
        yield files, form
    finally:
        await form.close()


def files_in(form: FormData, field: str, limit: int, max_files: int) -> list[IncomingFile]:
    """The files of a parsed form's field (a browser's `<input type=file multiple>`), measured and
    hashed from the spooled copies the form parser made; an empty input (no file chosen) gives
    none. Blocking reads: called on the thread pool, as sync routes are."""
    chosen = [value for value in form.getlist(field) if isinstance(value, UploadFile) and value.filename]
    if len(chosen) > max_files:
        raise InvalidInput(f"at most {max_files} files at once", [FieldError(f"/{field}", "too many files")])
    files = []
    for upload in chosen:
        measured = _measure(upload.file, limit, upload.filename)
        claimed = media_type_of(upload.content_type) or None
        files.append(
            IncomingFile(upload.filename or "file", claimed, upload.file, measured.size, measured.sha256)
        )
    return files


def is_form(request: Request) -> bool:
    return media_type_of(request.headers.get("content-type")) == "multipart/form-data"


async def _copy(chunks: AsyncIterator[bytes], into: IO[bytes], limit: int) -> Measured:
    digest = hashlib.sha256()
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"a file may have at most {limit} bytes")
        digest.update(chunk)
        into.write(chunk)
    into.seek(0)
    return Measured(size, digest.hexdigest())


def _measure(source: IO[bytes], limit: int, name: str | None) -> Measured:
    """Size and SHA-256 of a file the form parser spooled, read from its start (blocking reads: on
    the thread pool), refused past the limit; left at its start."""
    digest = hashlib.sha256()
    size = 0
    source.seek(0)
    while chunk := source.read(READ_BYTES):
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"a file may have at most {limit} bytes; {name or 'one'} has more")
        digest.update(chunk)
    source.seek(0)
    return Measured(size, digest.hexdigest())
