"""The first code every HTTP request meets: its telemetry, then either a polled status lookup,
answered before any framework sees the request, or everything else.

Clients poll the status paths hard. Routing, dependency injection, response classes and even one
more coroutine a layer cost more than the work itself (the credential checked and the ticket read:
see store/fast_reads.py), so each face registers its polled GET routes here, and for them the
request's id and metrics, its rate limits and the route's matching are done in this one method
rather than stacked as layers. The handlers here are the routes' only implementation; the faces'
documents describe them by signature (faces/apps.face_app's `described`). Every other request
gets the same telemetry around `app`.

A polled path's handler answers through `respond_hot`, which adds the request's id to the fields
and hands back the status: no wrapper around `send` a request.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from time import perf_counter

from starlette.responses import Response

from ticketd.core.errors import RateLimited
from ticketd.telemetry.metrics import REQUESTS
from ticketd.telemetry.request_ids import CURRENT, new_request_id, request_id_for
from ticketd.telemetry.request_ids import HEADER as REQUEST_ID
from ticketd.web.asgi import ASGIApp, Headers, Message, Receive, Scope, Send
from ticketd.web.header_size import measured
from ticketd.web.rate_limits import LIMITS_KEY, FaceEntry, RateLimitGate
from ticketd.web.request_telemetry import KNOWN_METHODS, ObservedSend, RequestTelemetry

log = logging.getLogger(__name__)

# A status lookup a face answers before any framework: (scope, send, the id in the path) -> the
# status it answered with (what `respond_hot` returns).
PLAIN_TEXT = (b"content-type", b"text/plain")
# A polled route's duration counts by status (RequestDurations' lists).
CountsByStatus = dict[int, list[float]]
HotHandler = Callable[[Scope, Send, str], Awaitable[int]]


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


async def respond_hot(send: Send, status: int, headers: Headers, body: bytes = b"") -> int:
    """A polled path's answer: the request's id added to `headers` (a list the caller made for
    this answer), and the status handed back for the metrics."""
    headers.append(CURRENT.get())
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return status


async def respond_hot_with(send: Send, response: Response, extra: Headers | None = None) -> int:
    """`respond_hot` with a framework's response (a face's refusal), and `extra` fields."""
    headers = [*response.raw_headers, *(extra or ())]
    return await respond_hot(send, response.status_code, headers, bytes(response.body))


class HotPaths:
    def __init__(
        self,
        app: ASGIApp,
        routes: list[HotRoute],
        max_header_bytes: int,
        telemetry: RequestTelemetry,
        gate: RateLimitGate | None = None,
    ) -> None:
        """`app` answers everything but the polled paths (behind `gate` when rate limits are on,
        which the polled paths pass through here, each with its face's limits)."""
        self.app = app
        # Each route's durations are counted in lists kept by status, for GET and for HEAD (the
        # lists RequestDurations exports, found once: no label tuple made and hashed a request).
        self.routes: list[
            tuple[str, str, int, HotHandler, str, str, FaceEntry | None, CountsByStatus, CountsByStatus]
        ] = [
            (
                route.prefix,
                route.suffix,
                len(route.prefix),
                route.handler,
                route.route_template,
                route.face,
                gate.entry_for(route.prefix) if gate is not None else None,
                {},
                {},
            )
            for route in routes
        ]
        self.max_header_bytes = max_header_bytes
        self.telemetry = telemetry
        self.bounds = REQUESTS.bounds
        self.first_bound = REQUESTS.bounds[0]
        self.everything_else: ASGIApp = app if gate is None else _behind(gate, app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.not_http(scope, receive, send)
            return
        # The request's telemetry: the id (request_ids.py) and, in `finally`, the duration counted
        # as RequestDurations' lists hold it (written out: a call a request is measurable). One
        # pass over the header block finds the client's id and sizes the block for the polled
        # paths (header_size.py).
        started = perf_counter()
        size, offered = measured(scope["headers"], REQUEST_ID)
        field = (REQUEST_ID, new_request_id() if offered is None else request_id_for(offered))
        CURRENT.set(field)
        REQUESTS.active += 1
        status = 0
        route = face = ""
        by_status: CountsByStatus | None = None
        method: str = scope["method"]
        try:
            if method == "GET" or method == "HEAD":
                path: str = scope["path"]
                for prefix, suffix, start, handler, template, face_name, limited, gets, heads in self.routes:
                    if not (path.startswith(prefix) and path.endswith(suffix)):
                        continue
                    found = path[start : len(path) - len(suffix)]
                    if not found or "/" in found:
                        continue
                    if size > self.max_header_bytes:
                        # On to the size guard, which refuses it in the face's format.
                        break
                    route, face = template, face_name
                    by_status = gets if method == "GET" else heads
                    if limited is not None:
                        request = limited.request_for(scope)
                        try:
                            if (pending := request.enter()) is not None:
                                await pending
                        except RateLimited as exc:
                            observed = ObservedSend(send, field)
                            await limited.refuse(request, exc, scope, receive, observed)
                            status = observed.status
                            return
                        scope[LIMITS_KEY] = request
                    try:
                        status = await handler(scope, send if method == "GET" else _without_body(send), found)
                    except Exception:
                        # Handlers answer every expected failure in their face's format; this is
                        # the last guard, so nothing escapes as a stack trace.
                        log.exception("unexpected error on %s", path)
                        status = await respond_hot(send, 500, [PLAIN_TEXT], b"internal error")
                    return
            observed = ObservedSend(send, field)
            await self.everything_else(scope, receive, observed)
            status = observed.status
        finally:
            REQUESTS.active -= 1
            seconds = perf_counter() - started
            if by_status is not None:
                counts = by_status.get(status)
                if counts is None:
                    counts = by_status[status] = REQUESTS.counts_for((method, route, status or 500, face))
            else:
                route, face = self.telemetry.route_and_face(scope)
                if method not in KNOWN_METHODS:
                    method = "_OTHER"
                counts = REQUESTS.counts_for((method, route, status or 500, face))
            # Most answers fall in the first bucket: one comparison instead of the bisect.
            counts[0 if seconds <= self.first_bound else bisect_left(self.bounds, seconds)] += 1
            counts[-1] += seconds

    async def not_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Lifespan and anything else that is not HTTP."""
        await self.app(scope, receive, send)


def _behind(gate: RateLimitGate, app: ASGIApp) -> ASGIApp:
    async def gated(scope: Scope, receive: Receive, send: Send) -> None:
        await gate(scope, receive, send, app)

    return gated


def _without_body(send: Send) -> Send:
    """HEAD: the same status and headers as GET, no body (RFC 9110 §9.3.2)."""

    async def headers_only(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return headers_only
