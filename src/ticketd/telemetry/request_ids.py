"""One id a request, on every log line it causes, in its response and in its error body.

A client's `X-Request-ID` is kept when it is sane (short, printable, no spaces), so a caller can
follow its own id through ticketd's logs; otherwise the request gets a new one. New ids are this
process's random prefix and a counter: unique across processes and hosts, and nearly free to make
on the hot path (no random bytes a request).

The id is kept as the response field it becomes (bytes, as the server takes it): the polled paths
add it to their answers without encoding anything, and the rare reader of the text (a log line, an
error body) decodes it.
"""

from __future__ import annotations

import itertools
import re
import secrets
from contextvars import ContextVar

HEADER = b"x-request-id"
MAX_LENGTH = 128
SANE = re.compile(rb"[A-Za-z0-9._:@/+=-]{1,128}")

NO_FIELD = (HEADER, b"")
# The request's field; set by `begin`, or inline on the hot path (web/hot_path.py).
CURRENT: ContextVar[tuple[bytes, bytes]] = ContextVar("ticketd_request_id", default=NO_FIELD)
PREFIX = secrets.token_hex(4).encode()
COUNTER = itertools.count(1)


def new_request_id() -> bytes:
    return b"%s-%x" % (PREFIX, next(COUNTER))


def request_id_for(offered: bytes | None) -> bytes:
    """The client's id when it is sane, else a new one."""
    if offered is not None and len(offered) <= MAX_LENGTH and SANE.fullmatch(offered):
        return offered
    return new_request_id()


def begin(request_id: bytes) -> tuple[bytes, bytes]:
    """The id of the request this task is answering (each request runs in a task of its own), as
    the response field that carries it."""
    field = (HEADER, request_id)
    CURRENT.set(field)
    return field


def current_request_id() -> str | None:
    return CURRENT.get()[1].decode("ascii") or None
