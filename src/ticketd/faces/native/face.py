"""The native face's definition: ticketd's own API under /api/v1."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ticketd.core.demo import DemoCredentials
from ticketd.faces.face import DemoInstallation, FaceApp, FaceDefinition
from ticketd.faces.native.errors import rate_limited, render_error
from ticketd.faces.native.paths import PREFIX
from ticketd.limiting.config import FaceLimits, face_limits
from ticketd.settings import Settings
from ticketd.web.services import Services


def limits(settings: Settings) -> FaceLimits:
    return face_limits(settings, "native", headers=True)


def build(services: Services) -> FaceApp:
    from ticketd.faces.native.app import build_native_app, face_rules
    from ticketd.faces.native.hot import native_status_route
    from ticketd.web.idempotency import IdempotencyLayer

    app = IdempotencyLayer(
        build_native_app(services),
        prefix=PREFIX,
        sessions=services.sessions,
        authenticator=services.authenticator,
        render_error=render_error,
        refuse=rate_limited,
        ttl=timedelta(seconds=services.settings.idempotency_ttl_seconds),
    )
    return FaceApp(
        app=app, rules=[face_rules(services)], hot_routes=[native_status_route(services.authenticator)]
    )


def demo_credentials(credentials: DemoCredentials) -> dict[str, Any]:
    return {
        "api_key_id": credentials.api_key_id,
        "api_key_secret": credentials.api_key_secret,
        "user": "admin",
        "password": credentials.passwords["admin"],
    }


def demo_examples(demo: DemoInstallation) -> list[str]:
    key = f"{demo.credentials.api_key_id}:{demo.credentials.api_key_secret}"
    return [f"curl -u {key} {demo.base_url}{PREFIX}/tickets/{demo.credentials.ticket_ids[0]}/status"]


FACE = FaceDefinition(
    name="native",
    limits=limits,
    refuse=rate_limited,
    render_error=render_error,
    build=build,
    demo_credentials=demo_credentials,
    docs="README.md",
    openapi_path=f"{PREFIX}/openapi.json",
    demo_examples=demo_examples,
)
