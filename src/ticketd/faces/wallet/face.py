"""The Wallet face, assembled."""

from __future__ import annotations

from ticketd.faces.face import Face
from ticketd.faces.limits import wallet_limits
from ticketd.faces.wallet.app import PREFIX, build_wallet_app
from ticketd.faces.wallet.errors import rate_limited, render_error
from ticketd.faces.wallet.hot import ticket_route
from ticketd.web.guards import FaceRules
from ticketd.web.services import Services


def wallet_face(services: Services) -> Face:
    rules = FaceRules(
        prefix=PREFIX,
        render_error=render_error,
        offered=("application/json",),
        body_types=("application/json",),
        body_types_by_path={},
        max_body_bytes=services.settings.max_body_bytes,
    )
    return Face(
        name="wallet",
        rules=[rules],
        app=build_wallet_app(services),
        limits=wallet_limits(services.settings),
        refuse=rate_limited,
        hot_routes=[ticket_route(services.authenticator, services.reader)],
    )
