"""The OneCloud API. Paths, fields, codes and error bodies follow the vendor's documents."""

from __future__ import annotations

from fastapi import FastAPI

from ticketd.faces.apps import face_app
from ticketd.faces.error_handlers import install_error_handlers
from ticketd.faces.onecloud import routes_auth, routes_tickets, tokens
from ticketd.faces.onecloud.errors import ERROR_DOCS, FACE_ERRORS
from ticketd.faces.onecloud.records import RecordFormat
from ticketd.web.services import Services


def build_onecloud_app(services: Services) -> FastAPI:
    app = face_app(
        services,
        title="OneCloud helpdesk API (ticketd)",
        version="1",
        description="Ciptadrasoft OneCloud's ticket API as ticketd serves it. See docs/faces/onecloud.md.",
        openapi_url="/api/onecloud/openapi.json",
        errors=ERROR_DOCS,
    )
    app.state.token_secret = tokens.face_keys(services.server_keys)
    app.state.records = RecordFormat(services.settings.onecloud_time_zone)
    install_error_handlers(app, FACE_ERRORS)
    app.include_router(routes_auth.router)
    app.include_router(routes_tickets.router)
    return app
