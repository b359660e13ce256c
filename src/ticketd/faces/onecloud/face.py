"""The OneCloud face, assembled."""

from __future__ import annotations

from ticketd.faces.face import Face
from ticketd.faces.limits import onecloud_limits
from ticketd.faces.onecloud.app import PREFIXES, build_onecloud_app
from ticketd.faces.onecloud.errors import rate_limited, render_error
from ticketd.web.guards import FaceRules
from ticketd.web.services import Services

BODY_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "application/json")


def onecloud_face(services: Services) -> Face:
    rules = [
        FaceRules(
            prefix=prefix,
            render_error=render_error,
            offered=("application/json",),
            body_types=BODY_TYPES,
            body_types_by_path={},
            max_body_bytes=services.settings.max_body_bytes,
        )
        for prefix in PREFIXES
    ]
    return Face(
        name="onecloud",
        rules=rules,
        app=build_onecloud_app(services),
        limits=onecloud_limits(services.settings),
        refuse=rate_limited,
    )
