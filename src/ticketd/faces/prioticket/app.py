"""The Distributor API's system and oauth2 endpoints; the rest of the documented API answers 501."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from ticketd.faces.apps import face_app
from ticketd.faces.error_handlers import install_error_handlers
from ticketd.faces.prioticket import routes_oauth, routes_system
from ticketd.faces.prioticket.errors import ERROR_DOCS, FACE_ERRORS, error_response
from ticketd.faces.prioticket.paths import PREFIX
from ticketd.web.services import Services

# Sections of the documented Distributor API that ticketd does not provide: 501, not 404.
UNPROVIDED = frozenset(
    {
        "about",
        "products",
        "availability",
        "reservations",
        "carts",
        "promocodes",
        "orders",
        "payments",
        "contacts",
        "notifications",
        "locations",
        "destinations",
        "categories",
        "webhooks",
        "translations",
        "recommendations",
        "promotions",
        "vouchers",
    }
)
PROVIDED = {
    f"{PREFIX}/system/ping": ("GET", "HEAD"),
    f"{PREFIX}/system/status": ("GET", "HEAD"),
    f"{PREFIX}/oauth2/token": ("POST",),
    f"{PREFIX}/oauth2/revoke": ("POST",),
}
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def build_prioticket_app(services: Services) -> FastAPI:
    app = face_app(
        services,
        title="Prioticket Distributor API v3.8 (ticketd)",
        version="3.8",
        description="The Distributor API's system and OAuth 2.0 endpoints as ticketd serves them. "
        "See docs/faces/prioticket.md.",
        openapi_url=f"{PREFIX}/openapi.json",
        errors=ERROR_DOCS,
        # As the Distributor API's reference names them ("Get System Ping", ...).
        operation_ids={
            "ping": "getSystemPing",
            "status": "getSystemStatus",
            "token": "createAccessToken",
            "revoke": "revokeAccessToken",
        },
    )
    install_error_handlers(app, FACE_ERRORS)
    app.include_router(routes_system.router)
    app.include_router(routes_oauth.router)
    # Last, so that it sees only what no route above matched.
    app.add_api_route(
        f"{PREFIX}/{{section}}/{{rest:path}}", unprovided, methods=METHODS, include_in_schema=False
    )
    app.add_api_route(f"{PREFIX}/{{section}}", unprovided, methods=METHODS, include_in_schema=False)
    return app


def unprovided(section: str, request: Request) -> Response:
    allowed = PROVIDED.get(request.url.path)
    if allowed:
        # A provided path with another method: the catch-all must not hide the 405.
        message = f"{request.method} is not allowed here"
        return error_response(405, message, headers={"Allow": ", ".join(allowed)})
    if section in UNPROVIDED:
        return error_response(
            501,
            f"{request.method} {request.url.path} is part of the Distributor API that "
            "this server does not provide",
        )
    return error_response(404, f"no resource at {request.url.path}")
