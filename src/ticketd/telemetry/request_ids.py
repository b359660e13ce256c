"""One id a request, on every log line it causes, in its response and in its error body.

A client's `X-Request-ID` is kept when it is sane (short, printable, no spaces), so a caller can
follow its own id through ticketd's logs; otherwise the request gets a new one. New ids are this
process's random prefix and a counter: unique across processes and hosts, and nearly free to make
on the hot path (no random bytes a request).
"""

from __future__ import annotations

import itertools
import re
import secrets
from contextvars import ContextVar

HEADER = b"x-request-id"
MAX_LENGTH = 128
SANE = re.compile(rb"[A-Za-z0-9._:@/+=-]{1,128}")

_current: ContextVar[str] = ContextVar("ticketd_request_id", default="")
_prefix = secrets.token_hex(4)
_counter = itertools.count(1)


def new_request_id() -> str:
    return f"{_prefix}-{next(_counter):x}"


def request_id_for(offered: bytes | None) -> str:
    """The client's id when it is sane, else a new one."""
    if offered is not None and len(offered) <= MAX_LENGTH and SANE.fullmatch(offered):
        return offered.decode("ascii")
    return new_request_id()


def begin(request_id: str) -> None:
    """The id of the request this task is answering (each request runs in a task of its own)."""
    _current.set(request_id)


def current_request_id() -> str | None:
    return _current.get() or None
