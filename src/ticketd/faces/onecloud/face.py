"""The Ciptadrasoft OneCloud face's definition: its token API and ticket records."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from ticketd.core.demo import DemoCredentials
from ticketd.faces.face import FaceApp, FaceDefinition, json_face_rules
from ticketd.faces.onecloud.errors import rate_limited, render_error
from ticketd.faces.onecloud.paths import BODY_TYPES, CREATE_PATH, MAX_CREATE_FILES, PREFIXES
from ticketd.limiting.config import FaceLimits, face_limits
from ticketd.settings import Settings
from ticketd.web.attachment_uploads import MULTIPART_OVERHEAD
from ticketd.web.guards import UploadRoute
from ticketd.web.services import Services


def limits(settings: Settings) -> FaceLimits:
    # The vendor's usage quota per site: daily service hours and a daily allowance.
    return face_limits(
        settings,
        "onecloud",
        service_hours=settings.onecloud_service_hours,
        daily_allowance=settings.onecloud_daily_allowance,
        time_zone=ZoneInfo(settings.onecloud_time_zone),
    )


def build(services: Services) -> FaceApp:
    from ticketd.faces.onecloud.app import build_onecloud_app

    max_body = services.settings.max_body_bytes
    rules = [json_face_rules(prefix, render_error, max_body, BODY_TYPES) for prefix in PREFIXES]
    # A ticket created with its files: a form as large as they may be, read as it streams.
    files = MAX_CREATE_FILES * services.settings.max_attachment_bytes + MULTIPART_OVERHEAD
    create = UploadRoute(re.compile(re.escape(CREATE_PATH)), files, ("multipart/form-data",))
    rules = [replace(rule, upload_routes=(create,)) for rule in rules]
    return FaceApp(app=build_onecloud_app(services), rules=rules)


def demo_credentials(credentials: DemoCredentials) -> dict[str, Any]:
    return {
        "email": "admin@demo.example",
        "password": credentials.passwords["admin"],
        "site_id": str(credentials.tenant_id),
    }


FACE = FaceDefinition(
    name="onecloud",
    limits=limits,
    refuse=rate_limited,
    render_error=render_error,
    build=build,
    demo_credentials=demo_credentials,
    docs="docs/faces/onecloud.md",
    openapi_path="/api/onecloud/openapi.json",
)
