"""Polled status lookups answered before any framework sees the request.

Clients poll these paths hard. Routing, dependency injection and response classes cost more than
the work itself (the credential checked and the ticket read: see store/fast_reads.py), so each face
registers its polled GET routes here and every other request is handed on. The same routes are
declared in the faces' apps for their OpenAPI documents. Every call layer here costs measurable
throughput, which is why matching is written out in this one method.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ticketd.web.asgi import ASGIApp, Message, Receive, Scope, Send, respond
from ticketd.web.header_size import header_block_size
from ticketd.web.request_telemetry import FACE_KEY, ROUTE_KEY

log = logging.getLogger(__name__)

# A status lookup a face answers before any framework: (scope, send, the id in the path).
HotHandler = Callable[[Scope, Send, str], Awaitable[None]]


@dataclass(frozen=True)
class HotRoute:
    """`prefix` + one path segment + `suffix`; the segment is handed to the handler."""

    prefix: str
    suffix: str
    handler: HotHandler
    # The face that answers, and the route's template as its document writes it (for the metrics).
    face: str = ""
    template: str = ""

    @property
    def route_template(self) -> str:
        return self.template or f"{self.prefix}{{id}}{self.suffix}"


class HotPaths:
    def __init__(self, app: ASGIApp, routes: list[HotRoute], max_header_bytes: int) -> None:
        self.app = app
        self.routes = [
            (route.prefix, route.suffix, len(route.prefix), route.handler, route.route_template, route.face)
            for route in routes
        ]
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method = scope["method"]
            if method == "GET" or method == "HEAD":
                path: str = scope["path"]
                for prefix, suffix, start, handler, template, face in self.routes:
                    if not (path.startswith(prefix) and path.endswith(suffix)):
                        continue
                    found = path[start : len(path) - len(suffix)]
                    if not found or "/" in found:
                        continue
                    if header_block_size(scope["headers"]) > self.max_header_bytes:
                        # On to the size guard, which refuses it in the face's format.
                        break
                    scope[ROUTE_KEY] = template
                    scope[FACE_KEY] = face
                    try:
                        await handler(scope, send if method == "GET" else _without_body(send), found)
                    except Exception:
                        # Handlers answer every expected failure in their face's format; this is
                        # the last guard, so nothing escapes as a stack trace.
                        log.exception("unexpected error on %s", path)
                        await respond(send, 500, [(b"content-type", b"text/plain")], b"internal error")
                    return
            await self.app(scope, receive, send)
            return
        await self.other(scope, receive, send)

    async def other(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Lifespan and anything else that is not HTTP."""
        await self.app(scope, receive, send)


def _without_body(send: Send) -> Send:
    """HEAD: the same status and headers as GET, no body (RFC 9110 §9.3.2)."""

    async def headers_only(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return headers_only
