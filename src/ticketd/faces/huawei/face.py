"""The Huawei OSM face, assembled."""

from __future__ import annotations

from ticketd.faces.face import Face
from ticketd.faces.huawei.app import PREFIXES, build_huawei_app
from ticketd.faces.huawei.errors import rate_limited, render_error
from ticketd.faces.huawei.hot import case_status_route
from ticketd.faces.limits import huawei_limits
from ticketd.web.guards import FaceRules
from ticketd.web.services import Services


def huawei_face(services: Services) -> Face:
    app = build_huawei_app(services)
    rules = [
        FaceRules(
            prefix=prefix,
            render_error=render_error,
            offered=("application/json",),
            body_types=("application/json",),
            body_types_by_path={},
            max_body_bytes=services.settings.max_body_bytes,
        )
        for prefix in PREFIXES
    ]
    return Face(
        name="huawei",
        rules=rules,
        app=app,
        limits=huawei_limits(services.settings),
        refuse=rate_limited,
        hot_routes=[case_status_route(app.state.auth)],
    )
