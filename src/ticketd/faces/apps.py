"""The FastAPI app every face is built on: its OpenAPI document at the face's own path, short stable
operation ids, the errors the face really answers in its own body, and none of the framework's
documentation pages (they would load scripts from a CDN)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from starlette.staticfiles import StaticFiles

from ticketd.web.services import Services

SWAGGER_FILES = Path(str(resources.files("fastapi_swagger") / "resources"))


@dataclass(frozen=True)
class ErrorDocs:
    """How a face's errors read, for its document: the statuses it answers, with its error body."""

    schema_name: str
    schema: dict[str, Any]
    media_type: str
    statuses: dict[int, str]
    headers: dict[int, dict[str, Any]] = field(default_factory=dict)


def operation_id_of(names: dict[str, str]) -> Callable[[APIRoute], str]:
    """The vendor's own operation name where it publishes one, else the route's name in camelCase."""

    def operation_id(route: APIRoute) -> str:
        if route.name in names:
            return names[route.name]
        first, *rest = route.name.split("_")
        return first + "".join(word.title() for word in rest)

    return operation_id


def face_app(
    services: Services,
    *,
    title: str,
    version: str,
    description: str,
    openapi_url: str | None,
    errors: ErrorDocs | None = None,
    operation_ids: dict[str, str] | None = None,
    described: Callable[[APIRouter], None] | None = None,
) -> FastAPI:
    """`described` declares routes that are in the document but not in the app: the polled paths,
    which the hot path in front of the app answers (web/hot_path.py), declared by their signature."""
    app = FastAPI(
        title=title,
        version=version,
        description=description,
        openapi_url=openapi_url,
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id_of(operation_ids or {}),
    )
    app.state.services = services
    if described is not None:
        document_described(app, described)
    if errors is not None:
        document_errors(app, errors)
    if openapi_url is not None:
        mount_docs(app, openapi_url.rsplit("/", 1)[0], openapi_url, title)
    return app


def mount_docs(app: FastAPI, prefix: str, openapi_url: str, title: str) -> None:
    """An interactive reference at `<prefix>/docs`: Swagger UI 5 (it reads OpenAPI 3.1), served from
    the files the fastapi-swagger package keeps current, so the page works with no network."""
    app.mount(f"{prefix}/docs/assets", StaticFiles(directory=str(SWAGGER_FILES)), name="docs-assets")

    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url=f"{prefix}/docs/assets/swagger-ui-bundle.js",
            swagger_css_url=f"{prefix}/docs/assets/swagger-ui.css",
            swagger_favicon_url=f"{prefix}/docs/assets/favicon-32x32.png",
            swagger_ui_parameters={"tryItOutEnabled": True},
        )

    app.add_api_route(f"{prefix}/docs", docs, methods=["GET"], include_in_schema=False)


def document_described(app: FastAPI, describe: Callable[[APIRouter], None]) -> None:
    """The app's document with the routes `describe` declares on a router of their own, which the
    app never serves."""
    router = APIRouter(generate_unique_id_function=app.router.generate_unique_id_function)
    describe(router)
    app.state.described_routes = router.routes  # for a 405's Allow (error_handlers.py)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                summary=app.summary,
                description=app.description,
                routes=[*app.routes, *router.routes],
                webhooks=app.webhooks.routes,
                tags=app.openapi_tags,
                servers=app.servers,
                separate_input_output_schemas=app.separate_input_output_schemas,
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document_errors(app: FastAPI, errors: ErrorDocs) -> None:
    """Every operation lists the errors the face answers, with its own error body."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components[errors.schema_name] = errors.schema
        # The framework's own validation body: every face answers validation in its own.
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        reference = {"$ref": f"#/components/schemas/{errors.schema_name}"}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                responses.pop("422", None)
                for status, description in errors.statuses.items():
                    entry: dict[str, Any] = {
                        "description": description,
                        "content": {errors.media_type: {"schema": reference}},
                    }
                    if status in errors.headers:
                        entry["headers"] = errors.headers[status]
                    responses.setdefault(str(status), entry)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


# The header every 429 carries, on every face.
RETRY_AFTER: dict[int, dict[str, Any]] = {
    429: {"Retry-After": {"description": "Seconds until a retry may succeed.", "schema": {"type": "integer"}}}
}
