"""`GET /api/v1/tickets/{id}/status` answered before any framework sees the request.

Clients poll this path hard. Routing, dependency injection and response classes cost more than
the work itself (one statement that checks the key and reads the ticket), so this layer answers
it directly and hands every other request on. The same route is declared in the native API for
its OpenAPI document; both go through `parse_authorization` and `lookup_status`.
"""

from __future__ import annotations

import logging

import orjson

from ticketd.core.authenticate import Authenticator
from ticketd.core.errors import Forbidden, NotFound, Unauthenticated
from ticketd.core.status_lookup import lookup_status
from ticketd.store.fast_reads import STORE_ERRORS, to_datetime
from ticketd.web.asgi import ASGIApp, Receive, Scope, Send, respond
from ticketd.web.credentials import CHALLENGE, parse_authorization
from ticketd.web.negotiation import acceptable
from ticketd.web.problems import problem, problem_headers

log = logging.getLogger(__name__)

PREFIX = "/api/v1/tickets/"
SUFFIX = "/status"
OFFERED = ("application/json", "application/problem+json")
CACHE_CONTROL = (b"cache-control", b"private, no-cache")
JSON_TYPE = (b"content-type", b"application/json")
CHALLENGE_HEADER = [(b"www-authenticate", CHALLENGE.encode())]


class StatusHotPath:
    def __init__(self, app: ASGIApp, authenticator: Authenticator, max_header_bytes: int) -> None:
        self.app = app
        self.authenticator = authenticator
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            if path.startswith(PREFIX) and path.endswith(SUFFIX):
                digits = path[len(PREFIX) : -len(SUFFIX)]
                if digits.isdecimal() and len(digits) < 19:
                    await self._status(scope, send, int(digits))
                    return
        await self.app(scope, receive, send)

    async def _status(self, scope: Scope, send: Send, ticket_id: int) -> None:
        authorization = accept = if_none_match = None
        size = 0
        for name, value in scope["headers"]:
            size += len(name) + len(value)
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"accept":
                accept = value.decode("latin-1")
            elif name == b"if-none-match":
                if_none_match = value.decode("latin-1")
        # The size guard in front of every other path, folded into this loop.
        if size > self.max_header_bytes:
            await _problem(send, 431, "the request's header fields are too large")
            return
        if accept is not None and acceptable(accept, OFFERED) is None:
            await _problem(send, 406, "this resource is served as application/json")
            return
        try:
            view = lookup_status(self.authenticator, parse_authorization(authorization), ticket_id)
        except Unauthenticated as exc:
            await _problem(send, 401, exc.message, CHALLENGE_HEADER)
            return
        except Forbidden as exc:
            await _problem(send, 403, exc.message)
            return
        except NotFound as exc:
            await _problem(send, 404, exc.message)
            return
        except STORE_ERRORS:
            log.exception("status lookup failed in the store")
            await _problem(send, 503, "the store is not answering; try again shortly")
            return
        except Exception:
            log.exception("status lookup failed")
            await _problem(send, 500, "an unexpected error occurred")
            return
        etag = view.etag
        if if_none_match is not None and _matches(if_none_match, etag):
            await respond(send, 304, [(b"etag", etag.encode()), CACHE_CONTROL])
            return
        body = orjson.dumps(
            {"id": ticket_id, "status": view.status, "updated_at": to_datetime(view.updated_at)},
            option=orjson.OPT_UTC_Z,
        )
        headers = [JSON_TYPE, (b"content-length", b"%d" % len(body)), (b"etag", etag.encode()), CACHE_CONTROL]
        await respond(send, 200, headers, body)


def _matches(if_none_match: str, etag: str) -> bool:
    if if_none_match == etag or if_none_match.strip() == "*":
        return True
    return etag in (part.strip().removeprefix("W/") for part in if_none_match.split(","))


async def _problem(
    send: Send, status: int, detail: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = problem(status, detail)
    await respond(send, status, problem_headers(body, extra), body)
