"""Rate limits at the edge: every request of a face is counted by client IP before anything else
runs, and faces count the credential once they know it (`admit`).

The request's standing travels in the ASGI scope, so the native face can show it in `RateLimit`
headers on every response, and fair use can count the client errors a face answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from starlette.responses import Response

from ticketd.core.errors import RateLimited
from ticketd.core.principal import Principal
from ticketd.limiting.admission import Admission, RequestLimits
from ticketd.limiting.config import FaceLimits
from ticketd.web.asgi import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

LIMITS_KEY = "ticketd.limits"

# A refused request, answered in the face's own way.
Refusal = Callable[[RateLimited], Response]


@dataclass(frozen=True)
class LimitedFace:
    name: str
    prefixes: tuple[str, ...]
    limits: FaceLimits
    refuse: Refusal


async def admit(scope: Scope, principal: Principal) -> None:
    """Count the caller's credential and tenant quota; raises RateLimited. No-op with limits off."""
    request: RequestLimits | None = scope.get(LIMITS_KEY)
    if request is not None and (pending := request.admit(principal)) is not None:
        await pending


class RateLimitGate:
    def __init__(self, admission: Admission, faces: list[LimitedFace]) -> None:
        self.admission = admission
        self.by_prefix = sorted(
            ((prefix, FaceEntry(admission, face)) for face in faces for prefix in face.prefixes),
            key=lambda entry: len(entry[0]),
            reverse=True,
        )

    def entry_for(self, path: str) -> FaceEntry | None:
        """The way through the gate of the face that answers `path` (the polled paths find theirs
        once, from their prefix)."""
        for prefix, entry in self.by_prefix:
            if path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/"):
                return entry
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        entry = self.entry_for(scope["path"])
        if entry is None:
            await app(scope, receive, send)
            return
        request = entry.request_for(scope)
        try:
            if (pending := request.enter()) is not None:
                await pending
        except RateLimited as exc:
            await entry.refuse(request, exc, scope, receive, send)
            return
        scope[LIMITS_KEY] = request
        await app(scope, receive, send)


class ObservedResponses:
    """Behind the polled paths: adds the RateLimit fields to what a face answers (native), and counts
    its client errors for fair use (Prioticket). The polled paths add their fields themselves, which
    spares them a wrapper around every send."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request: RequestLimits | None = scope.get(LIMITS_KEY)
        if request is not None and (request.limits.headers or request.limits.errors is not None):
            send = _observing(request, send)
        await self.app(scope, receive, send)


def _observing(request: RequestLimits, send: Send) -> Send:
    """Adds the RateLimit fields to the response and counts client errors for fair use."""
    headers = request.limits.headers

    async def observed(message: Message) -> None:
        if message["type"] == "http.response.start":
            if headers:
                message = {**message, "headers": [*message.get("headers", ()), *request.header_fields()]}
            try:
                await request.responded(message["status"])
            except Exception:
                log.exception("could not count a client error for fair use")
        await send(message)

    return observed


class FaceEntry:
    """One face's way through the gate: `request_for`, then `enter` on the
    request's standing, and `refuse` when a limit refused it."""

    __slots__ = ("admission", "face", "limits", "name")

    def __init__(self, admission: Admission, face: LimitedFace) -> None:
        self.admission = admission
        self.face = face
        self.name = face.name
        self.limits = face.limits

    def request_for(self, scope: Scope) -> RequestLimits:
        client = scope.get("client")
        return RequestLimits(self.admission, self.name, self.limits, client[0] if client else "unknown")

    async def refuse(
        self, request: RequestLimits, exc: RateLimited, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """A request a limit refused on entry, answered in the face's format."""
        response = self.face.refuse(exc)
        if self.limits.headers:
            response.raw_headers.extend(request.header_fields())
        await response(scope, receive, send)
