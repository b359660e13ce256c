"""Which face answers a path: the longest registered prefix wins."""

from __future__ import annotations

from ticketd.web.asgi import ASGIApp, Receive, Scope, Send, respond
from ticketd.web.guards import ErrorRenderer


class FaceDispatcher:
    def __init__(self, routes: list[tuple[str, ASGIApp]], fallback: ErrorRenderer) -> None:
        self.routes = sorted(routes, key=lambda route: len(route[0]), reverse=True)
        self.fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        for prefix, app in self.routes:
            if path == prefix or path.startswith(prefix + "/"):
                await app(scope, receive, send)
                return
        content_type, body = self.fallback(404, f"no resource at {path}")
        await respond(
            send, 404, [(b"content-type", content_type), (b"content-length", str(len(body)).encode())], body
        )
