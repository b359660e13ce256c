"""The console's definition: server-rendered pages for people under `/console/`."""

from __future__ import annotations

import re
from typing import Any

from ticketd.core.demo import DemoCredentials
from ticketd.faces.console.errors import rate_limited, render_error
from ticketd.faces.console.paths import FILE_FORMS, FORM, IMPORT_PATH, IMPORT_TYPES, MAX_FILES_A_FORM, PREFIX
from ticketd.faces.face import DemoInstallation, FaceApp, FaceDefinition
from ticketd.limiting.config import FaceLimits, face_limits
from ticketd.settings import Settings
from ticketd.web.attachment_uploads import MULTIPART_OVERHEAD
from ticketd.web.guards import FaceRules, UploadRoute
from ticketd.web.services import Services


def limits(settings: Settings) -> FaceLimits:
    # Pages are counted per client IP; sign-ins are throttled per account besides, as API logins are.
    return face_limits(settings, "console", ip="1200/minute")


def build(services: Services) -> FaceApp:
    from ticketd.faces.console.app import build_console_app

    rules = FaceRules(
        prefix=PREFIX,
        render_error=render_error,
        offered=("text/html", "text/event-stream", "text/csv", "application/json", "application/x-ndjson"),
        body_types=(FORM, "multipart/form-data"),
        body_types_by_path={IMPORT_PATH: tuple(IMPORT_TYPES)},
        max_body_bytes=64 * 1024,
        upload_paths=frozenset({IMPORT_PATH}),
        max_upload_bytes=services.settings.max_upload_bytes,
        upload_routes=tuple(
            UploadRoute(
                re.compile(form),
                MAX_FILES_A_FORM * services.settings.max_attachment_bytes + MULTIPART_OVERHEAD,
                ("multipart/form-data",),
            )
            for form in FILE_FORMS
        ),
    )
    return FaceApp(app=build_console_app(services), rules=[rules])


def demo_credentials(credentials: DemoCredentials) -> dict[str, Any]:
    return {"url": f"{PREFIX}/", "tenant": credentials.tenant, "users": credentials.passwords}


def demo_examples(demo: DemoInstallation) -> list[str]:
    return [
        f"open {demo.base_url}{PREFIX}/ in a browser: organisation '{demo.credentials.tenant}', "
        "user admin, agent or customer, with the passwords above"
    ]


FACE = FaceDefinition(
    name="console",
    limits=limits,
    refuse=rate_limited,
    render_error=render_error,
    build=build,
    demo_credentials=demo_credentials,
    docs="docs/faces/console.md",
    openapi_path=None,
    demo_examples=demo_examples,
)
