"""The FastAPI app every face is built on: its OpenAPI document at the face's own path, none of the
framework's documentation pages (they would load scripts from a CDN), the services on its state."""

from __future__ import annotations

from fastapi import FastAPI

from ticketd.web.services import Services


def face_app(services: Services, *, title: str, version: str, description: str, openapi_url: str) -> FastAPI:
    app = FastAPI(
        title=title,
        version=version,
        description=description,
        openapi_url=openapi_url,
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    return app
