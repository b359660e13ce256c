"""What an API face is to the app: where it lives, how it answers errors, and its app.

Adding a face means a new package that builds one of these and one line in `registry.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ticketd.web.asgi import ASGIApp, Scope, Send
from ticketd.web.guards import FaceRules

# A status lookup a face answers before any framework: (scope, send, the id in the path).
HotHandler = Callable[[Scope, Send, str], Awaitable[None]]


@dataclass(frozen=True)
class HotRoute:
    """`prefix` + one path segment + `suffix`; the segment is handed to the handler."""

    prefix: str
    suffix: str
    handler: HotHandler


@dataclass(frozen=True)
class Face:
    name: str
    rules: list[FaceRules]
    app: ASGIApp
    hot_routes: list[HotRoute] = field(default_factory=list)
