"""The last layer around every face: an exception that escapes a face goes no further.

A framework answers an unexpected error with a 500 and then raises it again for the server to log,
and the server then closes the connection, so every client keep-alive connection would be reset by
one bad request. Here the exception stops: logged once (the faces log what they answered already),
answered with a 500 in the face's format if nothing was answered yet.
"""

from __future__ import annotations

import logging

from ticketd.web.asgi import ASGIApp, Message, Receive, Scope, Send, respond
from ticketd.web.guards import ErrorRenderer, FaceRules, face_for

log = logging.getLogger(__name__)


class LastResort:
    def __init__(self, app: ASGIApp, faces: list[FaceRules], fallback: ErrorRenderer) -> None:
        self.app = app
        self.faces = faces
        self.fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:
            if started:
                return  # answered (and logged) by the face's own handler
            log.exception("unexpected error on %s %s", scope["method"], scope["path"])
            face = face_for(self.faces, scope["path"])
            content_type, body = (face.render_error if face else self.fallback)(
                500, "an unexpected error occurred"
            )
            await respond(
                send, 500, [(b"content-type", content_type), (b"content-length", b"%d" % len(body))], body
            )
