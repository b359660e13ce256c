"""The Prioticket Distributor face's definition: its system and OAuth 2.0 endpoints."""

from __future__ import annotations

from typing import Any

from ticketd.core.demo import DemoCredentials
from ticketd.faces.face import FaceApp, FaceDefinition, json_face_rules
from ticketd.faces.prioticket.errors import rate_limited, render_error
from ticketd.faces.prioticket.paths import BODY_TYPES, PREFIX
from ticketd.limiting.config import FaceLimits, face_limits
from ticketd.settings import Settings
from ticketd.web.services import Services


def limits(settings: Settings) -> FaceLimits:
    # Fair use as the Distributor API documents it: at most 1000 requests per rolling minute per
    # IP, and a client with more than 60 responses in the 4xx range within a minute is blocked
    # for one minute.
    return face_limits(settings, "prioticket", ip="1000/minute", rolling_ip=True, errors="60/minute")


def build(services: Services) -> FaceApp:
    from ticketd.faces.prioticket.app import build_prioticket_app

    return FaceApp(
        app=build_prioticket_app(services),
        rules=[json_face_rules(PREFIX, render_error, services.settings.max_body_bytes, BODY_TYPES)],
    )


def demo_credentials(credentials: DemoCredentials) -> dict[str, Any]:
    return {"client_id": credentials.api_key_id, "client_secret": credentials.api_key_secret}


FACE = FaceDefinition(
    name="prioticket",
    limits=limits,
    refuse=rate_limited,
    render_error=render_error,
    build=build,
    demo_credentials=demo_credentials,
    docs="docs/faces/prioticket.md",
    openapi_path=f"{PREFIX}/openapi.json",
)
