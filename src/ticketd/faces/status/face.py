"""The public status page's definition: `/status/{tenant}` and its Statuspage v2 JSON."""

from __future__ import annotations

from typing import Any

from ticketd.core.demo import DemoCredentials
from ticketd.faces.face import FaceApp, FaceDefinition
from ticketd.faces.status.errors import rate_limited, render_error
from ticketd.faces.status.paths import PREFIX
from ticketd.limiting.config import FaceLimits, face_limits
from ticketd.settings import Settings
from ticketd.web.guards import FaceRules
from ticketd.web.services import Services


def limits(settings: Settings) -> FaceLimits:
    # Public: counted per client IP (there is no credential).
    return face_limits(settings, "status", ip="600/minute")


def build(services: Services) -> FaceApp:
    from ticketd.faces.status.app import build_status_app

    rules = FaceRules(
        prefix=PREFIX,
        render_error=render_error,
        offered=("text/html", "application/json"),
        body_types=(),
        body_types_by_path={},
        max_body_bytes=0,
    )
    return FaceApp(app=build_status_app(services), rules=[rules])


def demo_credentials(credentials: DemoCredentials) -> dict[str, Any]:
    return {"page": f"{PREFIX}/{credentials.tenant}"}


FACE = FaceDefinition(
    name="status",
    limits=limits,
    refuse=rate_limited,
    render_error=render_error,
    build=build,
    demo_credentials=demo_credentials,
    docs="docs/faces/status.md",
    openapi_path=f"{PREFIX}/openapi.json",
)
