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
    if request is not None and not request.admit_now(principal):
        await request.admit(principal)


class RateLimitGate:
    def __init__(self, admission: Admission, faces: list[LimitedFace]) -> None:
        self.admission = admission
        self.by_prefix = sorted(
            ((prefix, face) for face in faces for prefix in face.prefixes),
            key=lambda entry: len(entry[0]),
            reverse=True,
        )

    def face_for(self, path: str) -> LimitedFace | None:
        for prefix, face in self.by_prefix:
            if path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/"):
                return face
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        face = self.face_for(scope["path"])
        if face is None:
            await app(scope, receive, send)
            return
        request = self.request_for(face, scope)
        try:
            if not request.enter_now():
                await request.enter()
        except RateLimited as exc:
            await self.refuse(face, request, exc, scope, receive, send)
            return
        scope[LIMITS_KEY] = request
        await app(scope, receive, send)

    def request_for(self, face: LimitedFace, scope: Scope) -> RequestLimits:
        """The request's standing, to be entered (`enter_now`, else `enter`) before it is answered."""
        client = scope.get("client")
        return self.admission.request(face.name, face.limits, client[0] if client else "unknown")

    def entry(self, path: str) -> FaceEntry | None:
        """The way through the gate of the face that answers `path`, for a caller that knows its
        path's face before the request comes (the polled paths)."""
        face = self.face_for(path)
        return None if face is None else FaceEntry(self, face)

    async def refuse(
        self,
        face: LimitedFace,
        request: RequestLimits,
        exc: RateLimited,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        """A request a limit refused on entry, answered in the face's format."""
        response = face.refuse(exc)
        if face.limits.headers:
            response.raw_headers.extend(request.header_fields())
        await response(scope, receive, send)


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
    """One face's way through the gate: `request_for`, `enter_now` or `enter`, and `refuse`."""

    __slots__ = ("admission", "face", "gate", "limits", "name")

    def __init__(self, gate: RateLimitGate, face: LimitedFace) -> None:
        self.gate = gate
        self.face = face
        self.admission = gate.admission
        self.name = face.name
        self.limits = face.limits

    def request_for(self, scope: Scope) -> RequestLimits:
        client = scope.get("client")
        return RequestLimits(self.admission, self.name, self.limits, client[0] if client else "unknown")

    async def refuse(
        self, request: RequestLimits, exc: RateLimited, scope: Scope, receive: Receive, send: Send
    ) -> None:
        await self.gate.refuse(self.face, request, exc, scope, receive, send)
