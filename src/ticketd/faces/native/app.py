"""The native face as a FastAPI app, with its OpenAPI document and offline interactive docs."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI

from ticketd import __version__
from ticketd.faces.apps import face_app
from ticketd.faces.error_handlers import install_error_handlers
from ticketd.faces.native import (
    routes_access_keys,
    routes_attachments,
    routes_auth,
    routes_events,
    routes_health,
    routes_mail,
    routes_operations,
    routes_status_page,
    routes_tickets,
    routes_webhooks,
)
from ticketd.faces.native.errors import FACE_ERRORS, render_error
from ticketd.faces.native.hot import describe_status_route
from ticketd.faces.native.paths import PREFIX
from ticketd.faces.native.responses import NOT_MODIFIED
from ticketd.faces.native.schemas import Problem, TokenRequest
from ticketd.web.attachment_uploads import MULTIPART_OVERHEAD
from ticketd.web.guards import FaceRules, UploadRoute
from ticketd.web.services import Services

JSON_TYPES = ("application/json", "application/merge-patch+json")
IMPORTS = f"{PREFIX}/operations/imports"


def face_rules(services: Services) -> FaceRules:
    return FaceRules(
        prefix=PREFIX,
        render_error=render_error,
        offered=(
            "application/json",
            "application/problem+json",
            "application/health+json",
            "text/html",
            "text/event-stream",
        ),
        body_types=JSON_TYPES,
        body_types_by_path={
            f"{PREFIX}/auth/token": (*JSON_TYPES, "application/x-www-form-urlencoded"),
            IMPORTS: tuple(routes_operations.IMPORT_TYPES),
            routes_mail.INBOUND_PATH: ("message/rfc822",),
        },
        max_body_bytes=services.settings.max_body_bytes,
        upload_paths=frozenset({IMPORTS}),
        max_upload_bytes=services.settings.max_upload_bytes,
        upload_routes=(
            # Read by the route as it streams: a message past the limit is recorded, not stored.
            UploadRoute(
                re.compile(re.escape(routes_mail.INBOUND_PATH)),
                services.settings.max_mail_bytes * routes_mail.READ_AT_MOST_TIMES,
                ("message/rfc822",),
            ),
            UploadRoute(
                re.compile(routes_attachments.UPLOAD_PATH),
                services.settings.max_attachment_bytes + MULTIPART_OVERHEAD,
            ),
        ),
    )


# Short and stable: a generated client's method names.
OPERATION_IDS = {
    "post_token": "createToken",
    "download": "downloadExport",
    "patch_ticket": "updateTicket",
    "get_status": "getTicketStatus",
    "post_transition": "transitionTicket",
    "post_reopen": "reopenTicket",
    "get_comments": "listComments",
    "post_comment": "addComment",
    "get_events": "listEvents",
    "upload": "uploadAttachment",
    "list_attachments": "listAttachments",
    "get_attachment": "getAttachment",
    "get_content": "downloadAttachment",
    "delete_attachment": "deleteAttachment",
    "create_channel": "createMailChannel",
    "list_channels": "listMailChannels",
    "get_channel": "getMailChannel",
    "update_channel": "updateMailChannel",
    "delete_channel": "deleteMailChannel",
    "inbound": "deliverMail",
    "mail_messages": "listMailMessages",
    "list_templates": "listMailTemplates",
    "put_template": "setMailTemplate",
    "delete_template": "resetMailTemplate",
}


def build_native_app(services: Services) -> FastAPI:
    app = face_app(
        services,
        title="ticketd native API",
        version=__version__,
        description=(
            "Tickets, their status and history. Errors are RFC 9457 problems; tickets carry strong ETags; "
            "POST takes an Idempotency-Key. Authenticate with HTTP Basic (API key id and secret) or a "
            "Bearer token from POST /api/v1/auth/token."
        ),
        openapi_url=f"{PREFIX}/openapi.json",
        operation_ids=OPERATION_IDS,
        described=describe_status_route,
    )
    install_error_handlers(app, FACE_ERRORS)
    for module in (
        routes_tickets,
        routes_operations,
        routes_auth,
        routes_health,
        routes_access_keys,
        routes_webhooks,
        routes_events,
        routes_status_page,
        routes_attachments,
        routes_mail,
    ):
        app.include_router(module.router, prefix=PREFIX)
    original_openapi = app.openapi

    def openapi() -> dict[str, object]:
        schema = original_openapi()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        # Nested definitions hoisted to the components, where references can reach them.
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(problem.pop("$defs", {}))
        schemas["Problem"] = problem
        # The token route reads its body itself (JSON or a form); its schema is named here.
        schemas["TokenRequest"] = TokenRequest.model_json_schema(ref_template="#/components/schemas/{model}")
        # The framework's validation body: this face answers validation with the Problem.
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schema["components"]["securitySchemes"] = {
            "apiKey": {
                "type": "http",
                "scheme": "basic",
                "description": "API key id as user, secret as password",
            },
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        }
        schema["security"] = [{"apiKey": []}, {"bearer": []}]
        document_limits(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


RATE_LIMIT_HEADERS = {
    "RateLimit-Policy": {
        "description": 'Quotas counted for it: `"ip";q=6000;w=60, "credential";q=1200;w=60`.',
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": 'What is left of each, e.g. `"ip";r=5993;t=60, "credential";r=1187;t=42`.',
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds until the request may be retried.",
        "schema": {"type": "integer"},
    },
}


def document_limits(schema: dict[str, Any]) -> None:
    """Every operation may answer 429, and every response carries the RateLimit fields."""
    schema["components"]["headers"] = RATE_LIMIT_HEADERS
    refs = {name: {"$ref": f"#/components/headers/{name}"} for name in RATE_LIMIT_HEADERS}
    refused = {
        "description": "A rate limit or quota refused the request: an RFC 9457 problem of type "
        "https://iana.org/assignments/http-problem-types#quota-exceeded with `violated-policies`.",
        "headers": refs,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            responses.setdefault("429", refused)
            if "422" in responses:
                # Validation is answered as a Problem with `errors`, not the framework's body.
                responses["422"] = {"description": "Invalid fields", "content": problem}
            conditional = any(
                parameter.get("in") == "header" and parameter.get("name", "").lower() == "if-none-match"
                for parameter in operation.get("parameters", [])
            )
            if conditional:
                responses.setdefault("304", dict(NOT_MODIFIED[304]))
            for status, response in responses.items():
                if status != "429":
                    response.setdefault("headers", {}).update(
                        {name: refs[name] for name in ("RateLimit-Policy", "RateLimit")}
                    )
