"""The Airship Wallet face's definition: its system status and its long-running-operation tickets."""

from __future__ import annotations

from typing import Any

from ticketd.core.demo import DemoCredentials
from ticketd.faces.face import DemoInstallation, FaceApp, FaceDefinition, json_face_rules
from ticketd.faces.wallet.errors import rate_limited, render_error
from ticketd.faces.wallet.paths import PREFIX
from ticketd.limiting.config import FaceLimits, face_limits
from ticketd.settings import Settings
from ticketd.web.services import Services


def limits(settings: Settings) -> FaceLimits:
    return face_limits(settings, "wallet")


def build(services: Services) -> FaceApp:
    from ticketd.faces.wallet.app import build_wallet_app
    from ticketd.faces.wallet.hot import ticket_route

    return FaceApp(
        app=build_wallet_app(services),
        rules=[json_face_rules(PREFIX, render_error, services.settings.max_body_bytes)],
        hot_routes=[ticket_route(services.authenticator, services.reader)],
    )


def demo_credentials(credentials: DemoCredentials) -> dict[str, Any]:
    return {"project_key": credentials.api_key_id, "project_secret": credentials.api_key_secret}


def demo_examples(demo: DemoInstallation) -> list[str]:
    key = f"{demo.credentials.api_key_id}:{demo.credentials.api_key_secret}"
    return [f"curl -u {key} {demo.base_url}{PREFIX}/ticket/{demo.operation_id}"]


FACE = FaceDefinition(
    name="wallet",
    limits=limits,
    refuse=rate_limited,
    render_error=render_error,
    build=build,
    demo_credentials=demo_credentials,
    docs="docs/faces/wallet.md",
    openapi_path=f"{PREFIX}/openapi.json",
    demo_examples=demo_examples,
)
