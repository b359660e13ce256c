"""Polled status lookups answered before any framework sees the request.

Clients poll these paths hard. Routing, dependency injection and response classes cost more than
the work itself (one statement that checks the credential and reads the ticket), so each face
registers its polled GET routes here and every other request is handed on. The same routes are
declared in the faces' apps for their OpenAPI documents.
"""

from __future__ import annotations

import logging

from ticketd.faces.face import HotRoute
from ticketd.web.asgi import ASGIApp, Message, Receive, Scope, Send, respond

log = logging.getLogger(__name__)


class HotPaths:
    def __init__(self, app: ASGIApp, routes: list[HotRoute], max_header_bytes: int) -> None:
        self.app = app
        self.routes = routes
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            path: str = scope["path"]
            for route in self.routes:
                found = route.match(path)
                if found is not None and self._headers_fit(scope["headers"]):
                    if scope["method"] == "HEAD":
                        send = _without_body(send)
                    try:
                        await route.handler(scope, send, found)
                    except Exception:
                        # Handlers answer every expected failure in their face's format; this is
                        # the last guard, so nothing escapes as a stack trace.
                        log.exception("unexpected error on %s", path)
                        await respond(send, 500, [(b"content-type", b"text/plain")], b"internal error")
                    return
        await self.app(scope, receive, send)

    def _headers_fit(self, headers: list[tuple[bytes, bytes]]) -> bool:
        # Oversized header blocks go on to the size guard, which refuses them in the face's format.
        return sum(map(len, map(b"".join, headers))) <= self.max_header_bytes


def _without_body(send: Send) -> Send:
    """HEAD: the same status and headers as GET, no body (RFC 9110 §9.3.2)."""

    async def headers_only(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return headers_only
