"""An import's upload as every face takes it: to a temporary file as it arrives (memory holds a
megabyte of it at most), refused past the size limit, and checked to be what it says it is before
anything is stored; then read back in chunks into the store, off the event loop."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import IO

from starlette.requests import Request

from ticketd.core import operations
from ticketd.core.importer import Format

SPOOL_IN_MEMORY = 1 << 20


@asynccontextmanager
async def spooled_upload(request: Request, fmt: Format, limit: int) -> AsyncIterator[IO[bytes]]:
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spooled:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise operations.UploadTooLarge(f"the upload exceeds {limit} bytes")
            spooled.write(chunk)
        spooled.seek(0)
        operations.sniff_upload(fmt, spooled.read(4096))
        spooled.seek(0)
        yield spooled
