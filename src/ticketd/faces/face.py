"""The face contract: everything ticketd knows of one API face, in one object its package exports.

A face package exports `FACE`, a `FaceDefinition`; `assembly/registry.py` lists them. Nothing else
in the tree names a face: the app factory, the rate-limit defaults, `ticketd demo`, the command
line's checks and the tests all read what they need from the definitions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ticketd.core.demo import DemoCredentials
from ticketd.limiting.config import FaceLimits
from ticketd.settings import Settings
from ticketd.web.asgi import ASGIApp
from ticketd.web.guards import ErrorRenderer, FaceRules
from ticketd.web.hot_path import HotRoute
from ticketd.web.rate_limits import Refusal
from ticketd.web.services import Services


@dataclass(frozen=True)
class DemoInstallation:
    """What `ticketd demo` knows once the demo tenant exists, for faces to print their examples."""

    credentials: DemoCredentials
    base_url: str
    # A finished operation of the demo tenant (an export).
    operation_id: int


def no_examples(_demo: DemoInstallation) -> list[str]:
    return []


@dataclass(frozen=True)
class FaceApp:
    """A face built for one running app: its ASGI app, the guards' rules, its polled routes."""

    app: ASGIApp
    rules: list[FaceRules]
    hot_routes: list[HotRoute] = field(default_factory=list)


@dataclass(frozen=True)
class FaceDefinition:
    name: str
    # The face's default limits from the settings. Light: the command line checks every face's
    # limits before it serves, without building any app.
    limits: Callable[[Settings], FaceLimits]
    # How it answers a request its limits refuse, and any other error the shared guards raise.
    refuse: Refusal
    render_error: ErrorRenderer
    # Builds its app. Face packages import their app modules inside this function, so that reading
    # a definition (the command line does) does not load every face's framework code.
    build: Callable[[Services], FaceApp]
    # What `ticketd demo` prints for this face, from the demo tenant's credentials.
    demo_credentials: Callable[[DemoCredentials], dict[str, Any]]
    # Where a client's developer reads about it: a file in the repository and the OpenAPI path.
    docs: str
    # None for a face of pages for people (the console), which has no API to describe.
    openapi_path: str | None
    # Commands to try against the demo, printed by `ticketd demo`.
    demo_examples: Callable[[DemoInstallation], list[str]] = no_examples


@dataclass(frozen=True)
class Face:
    """A face as the running app holds it: its definition's name and limits with its built app."""

    name: str
    rules: list[FaceRules]
    app: ASGIApp
    limits: FaceLimits
    refuse: Refusal
    hot_routes: list[HotRoute]


def json_face_rules(
    prefix: str,
    render_error: ErrorRenderer,
    max_body_bytes: int,
    body_types: tuple[str, ...] = ("application/json",),
) -> FaceRules:
    """The rules of a face that answers JSON only and takes the same body types on every path."""
    return FaceRules(
        prefix=prefix,
        render_error=render_error,
        offered=("application/json",),
        body_types=body_types,
        body_types_by_path={},
        max_body_bytes=max_body_bytes,
    )
