"""The native face, assembled: its app behind Idempotency-Key handling, its rules, its polled path."""

from __future__ import annotations

from datetime import timedelta

from ticketd.faces.face import Face
from ticketd.faces.limits import native_limits
from ticketd.faces.native.app import PREFIX, build_native_app, face_rules
from ticketd.faces.native.errors import rate_limited, render_error
from ticketd.faces.native.hot import native_status_route
from ticketd.web.idempotency import IdempotencyLayer
from ticketd.web.services import Services


def native_face(services: Services) -> Face:
    app = IdempotencyLayer(
        build_native_app(services),
        prefix=PREFIX,
        sessions=services.sessions,
        authenticator=services.authenticator,
        render_error=render_error,
        ttl=timedelta(seconds=services.settings.idempotency_ttl_seconds),
    )
    return Face(
        name="native",
        rules=[face_rules(services)],
        app=app,
        limits=native_limits(services.settings),
        refuse=rate_limited,
        hot_routes=[native_status_route(services.authenticator)],
    )
