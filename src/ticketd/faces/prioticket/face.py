"""The Prioticket face, assembled."""

from __future__ import annotations

from ticketd.faces.face import Face
from ticketd.faces.limits import prioticket_limits
from ticketd.faces.prioticket.app import PREFIX, build_prioticket_app
from ticketd.faces.prioticket.errors import rate_limited, render_error
from ticketd.web.guards import FaceRules
from ticketd.web.services import Services


def prioticket_face(services: Services) -> Face:
    rules = FaceRules(
        prefix=PREFIX,
        render_error=render_error,
        offered=("application/json",),
        body_types=("application/json", "application/x-www-form-urlencoded"),
        body_types_by_path={},
        max_body_bytes=services.settings.max_body_bytes,
    )
    return Face(
        name="prioticket",
        rules=[rules],
        app=build_prioticket_app(services),
        limits=prioticket_limits(services.settings),
        refuse=rate_limited,
    )
