"""Around every HTTP request: its request id (kept from the client or made), echoed in the response
and set for the request's log lines and error bodies; and its duration, route template, status and
face in the metrics.

Applied by the outermost code (web/hot_path.HotPaths, which writes the steps out inline for speed),
so that every answer is counted and carries the id, the rate limits' refusals and the polled paths'
answers included. Here: what it needs besides, for the requests the frameworks answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from ticketd.telemetry.metrics import REQUESTS
from ticketd.web.asgi import Message, Scope, Send

# Set by the layers that know them (the metrics endpoint), read when the request ends.
ROUTE_KEY = "ticketd.route"
FACE_KEY = "ticketd.face"
UNMATCHED = "(unmatched)"
# OpenTelemetry: methods outside the known set are reported as _OTHER (bounded label values).
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})


class ObservedSend:
    """Passes messages on; notes the status and adds the request id to the response's fields."""

    __slots__ = ("field", "send", "status")

    def __init__(self, send: Send, field: tuple[bytes, bytes]) -> None:
        self.send = send
        self.field = field
        self.status = 0

    def __call__(self, message: Message) -> Awaitable[None]:
        # Not a coroutine of its own: the server's `send` is what the caller awaits, which spares a
        # coroutine a message.
        if message["type"] == "http.response.start":
            self.status = message["status"]
            message["headers"] = [*message.get("headers", ()), self.field]
        return self.send(message)


class RequestTelemetry:
    def __init__(self, face_for_path: Callable[[str], str]) -> None:
        self.face_for_path = face_for_path

    def start(self) -> None:
        """Once the event loop runs: every second the counts move to the exported histogram (in
        multiprocess mode, to this process's file, which any process's scrape reads). A scrape
        of this process moves them too."""
        REQUESTS.flush()
        asyncio.get_running_loop().call_later(REQUESTS.FLUSH_EVERY_SECONDS, self.start)

    def route_and_face(self, scope: Scope) -> tuple[str, str]:
        """For a request the frameworks answered: the route's template and the face."""
        route = scope.get(ROUTE_KEY)
        if route is not None:
            return route, scope[FACE_KEY]
        return _framework_route(scope), self.face_for_path(scope["path"])


def _framework_route(scope: Scope) -> str:
    """The template of the route that answered (Starlette leaves the route in the scope), never the
    path. A route included in a router with a prefix knows only its own part ("/tickets/{id}"):
    the prefix is the path's leading segments before as many segments as the template has."""
    matched: Any = scope.get("route")
    template = getattr(matched, "path", None)
    if not isinstance(template, str):
        return UNMATCHED
    path: str = scope["path"]
    if ":path}" in template or template.count("/") > path.count("/"):
        return template
    depth = template.count("/")
    prefix = path.rsplit("/", depth)[0]
    return template if not prefix or template.startswith(prefix + "/") else prefix + template
