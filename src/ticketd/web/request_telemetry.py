"""Around every HTTP request: its request id (kept from the client or made), echoed in the response
and set for the request's log lines and error bodies; and its duration, route template, status and
face in the metrics.

The outermost layer, so that every answer is counted and carries the id, the rate limits' refusals
and the polled paths' answers included.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import Any

from ticketd.telemetry.metrics import REQUESTS
from ticketd.telemetry.request_ids import HEADER, begin, request_id_for
from ticketd.web.asgi import Message, Scope, Send

# Set by the layer that knows them (the polled paths), read when the request ends.
ROUTE_KEY = "ticketd.route"
FACE_KEY = "ticketd.face"
UNMATCHED = "(unmatched)"
# OpenTelemetry: methods outside the known set are reported as _OTHER (bounded label values).
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})


class ObservedSend:
    """Passes messages on; notes the status and adds the request id to the response's fields."""

    __slots__ = ("field", "send", "started", "status")

    def __init__(self, send: Send, request_id: bytes, started: float) -> None:
        self.send = send
        self.field = (HEADER, request_id)
        self.status = 0
        self.started = started

    def __call__(self, message: Message) -> Awaitable[None]:
        # Not a coroutine of its own: the server's `send` is what the caller awaits, which spares a
        # coroutine a message.
        if message["type"] == "http.response.start":
            self.status = message["status"]
            message["headers"] = [*message.get("headers", ()), self.field]
        return self.send(message)


class RequestTelemetry:
    """`begin` before the app runs, `end` after (plain calls: no layer of its own on the hot path)."""

    def __init__(self, face_for_path: Callable[[str], str]) -> None:
        self.face_for_path = face_for_path
        self._ticking = False

    def _tick(self) -> None:
        # On the event loop, as every observation is: the counts move to the exported histogram
        # (in multiprocess mode, to this process's file, which any process's scrape reads).
        REQUESTS.flush()
        asyncio.get_running_loop().call_later(REQUESTS.FLUSH_EVERY_SECONDS, self._tick)

    def begin(self, scope: Scope, send: Send) -> ObservedSend:
        started = perf_counter()
        if not self._ticking:
            self._ticking = True
            self._tick()
        offered = None
        for name, value in scope["headers"]:
            if name == HEADER:
                offered = value
                break
        request_id = request_id_for(offered)
        begin(request_id)
        REQUESTS.active += 1
        return ObservedSend(send, request_id.encode(), started)

    def end(self, scope: Scope, observed: ObservedSend) -> None:
        REQUESTS.active -= 1
        route = scope.get(ROUTE_KEY)
        if route is None:
            route = _framework_route(scope)
            face = self.face_for_path(scope["path"])
        else:
            face = scope[FACE_KEY]
        method = scope["method"]
        REQUESTS.observe(
            method if method in KNOWN_METHODS else "_OTHER",
            route,
            observed.status or 500,
            face,
            perf_counter() - observed.started,
        )


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
