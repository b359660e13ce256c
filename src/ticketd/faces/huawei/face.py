"""The Huawei Cloud OSM face's definition: IAM tokens, AK/SK signatures and OSM cases."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from ticketd.core.demo import DemoCredentials
from ticketd.faces.face import FaceApp, FaceDefinition, json_face_rules
from ticketd.faces.huawei.errors import rate_limited, render_error
from ticketd.faces.huawei.paths import ACCESSORIES, CASES, JSON_ACCESSORY, PREFIXES, json_accessory_limit
from ticketd.limiting.config import FaceLimits, face_limits
from ticketd.settings import Settings
from ticketd.web.attachment_uploads import MULTIPART_OVERHEAD
from ticketd.web.guards import UploadRoute
from ticketd.web.services import Services


def limits(settings: Settings) -> FaceLimits:
    return face_limits(settings, "huawei")


def accessory_uploads(settings: Settings) -> tuple[UploadRoute, ...]:
    """The two upload routes' bodies: a form around the file, or JSON around its base64."""
    most = settings.max_attachment_bytes
    return (
        UploadRoute(re.compile(re.escape(ACCESSORIES)), most + MULTIPART_OVERHEAD, ("multipart/form-data",)),
        UploadRoute(
            re.compile(re.escape(JSON_ACCESSORY)),
            json_accessory_limit(most),
            ("application/json",),
            streamed=False,
        ),
    )


def build(services: Services) -> FaceApp:
    from ticketd.faces.huawei.app import build_huawei_app
    from ticketd.faces.huawei.hot import case_status_route

    app = build_huawei_app(services)
    max_body = services.settings.max_body_bytes
    rules = [json_face_rules(prefix, render_error, max_body) for prefix in PREFIXES]
    rules[0] = replace(rules[0], upload_routes=accessory_uploads(services.settings))
    return FaceApp(
        app=app,
        rules=rules,
        hot_routes=[case_status_route(app.state.auth)],
    )


def demo_credentials(credentials: DemoCredentials) -> dict[str, Any]:
    return {
        "user": "admin",
        "password": credentials.passwords["admin"],
        "domain": credentials.tenant,
        "domain_id": str(credentials.tenant_id),
        "ak": credentials.access_key,
        "sk": credentials.secret_key,
    }


FACE = FaceDefinition(
    name="huawei",
    limits=limits,
    refuse=rate_limited,
    render_error=render_error,
    build=build,
    demo_credentials=demo_credentials,
    docs="docs/faces/huawei.md",
    openapi_path=f"{CASES}/openapi.json",
)
