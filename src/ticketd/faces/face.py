"""What an API face is to the app: where it lives, how it answers errors, and its app.

Adding a face means a new package that builds one of these and one line in `registry.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ticketd.limiting.config import FaceLimits
from ticketd.web.asgi import ASGIApp, Scope, Send
from ticketd.web.guards import FaceRules
from ticketd.web.rate_limits import Refusal

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
    # Its default limits, and how it answers a request they refuse.
    limits: FaceLimits
    refuse: Refusal
    hot_routes: list[HotRoute] = field(default_factory=list)
