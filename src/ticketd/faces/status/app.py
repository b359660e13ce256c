"""The status face's routes: the page as HTML, and its data as Statuspage's public v2 JSON.

Every answer is public and cacheable: a strong entity tag of the body, `If-None-Match` → 304, and
`Cache-Control: public, max-age=30`. The page is read in one unit of work off the event loop.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from importlib import resources
from typing import Annotated, Any

import orjson
from fastapi import FastAPI, Header, Path
from fastapi.responses import Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from ticketd import __version__
from ticketd.core import status_page
from ticketd.core.clock import utcnow
from ticketd.core.etags import none_match
from ticketd.core.status_page import ComponentStatus, Health
from ticketd.faces.apps import face_app
from ticketd.faces.error_handlers import install_error_handlers
from ticketd.faces.status import views
from ticketd.faces.status.errors import ERROR_DOCS, FACE_ERRORS
from ticketd.faces.status.paths import PREFIX
from ticketd.store.engine import unit_of_work
from ticketd.web.services import Services

Slug = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="The tenant's slug.",
        openapi_examples={"demo": {"summary": "the demo tenant", "value": "demo"}},
    ),
]
TEMPLATES = Environment(
    loader=FileSystemLoader(str(resources.files("ticketd.faces.status") / "templates")),
    autoescape=select_autoescape(default=True),
)
# Pages for people carry no script at all: nothing to inject into.
HTML_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
DOCUMENTS: dict[str, Callable[[views.PageData], dict[str, Any]]] = {
    "summary": views.summary_json,
    "status": lambda d: {"page": views.page_json(d), "status": views.status_json(d)},
    "components": lambda d: {"page": views.page_json(d), "components": views.components_json(d)},
    "incidents": lambda d: {
        "page": views.page_json(d),
        "incidents": [views.incident_json(d, i) for i in views.incidents(d)],
    },
    "incidents/unresolved": lambda d: {
        "page": views.page_json(d),
        "incidents": [views.incident_json(d, i) for i in views.unresolved(d)],
    },
    "scheduled-maintenances": lambda d: {
        "page": views.page_json(d),
        "scheduled_maintenances": [views.incident_json(d, i) for i in views.maintenances(d)],
    },
    "scheduled-maintenances/upcoming": lambda d: {
        "page": views.page_json(d),
        "scheduled_maintenances": [views.incident_json(d, i) for i in views.upcoming_maintenances(d)],
    },
    "scheduled-maintenances/active": lambda d: {
        "page": views.page_json(d),
        "scheduled_maintenances": [views.incident_json(d, i) for i in views.active_maintenances(d)],
    },
}


def build_status_app(services: Services) -> FastAPI:
    app = face_app(
        services,
        title="ticketd public status pages",
        version=__version__,
        description=(
            "A tenant's published status page, and the same data in the format of Atlassian Statuspage's "
            "public v2 API. Public: no credentials; rate limited per client IP."
        ),
        openapi_url=f"{PREFIX}/openapi.json",
        errors=ERROR_DOCS,
    )
    install_error_handlers(app, FACE_ERRORS)
    health = HealthWatch(services)

    def read(slug: str) -> views.PageData:
        with unit_of_work(services.sessions, write=False) as db:
            tenant, page = status_page.published_page(db, slug)
            components = status_page.list_components(db, tenant.id)
            incidents = status_page.list_incidents(db, tenant.id)
            updates = status_page.updates_of(db, incidents)
            db.expunge_all()
        # Never the request's Host: these answers are public and cached, and one request with
        # `Host: evil.example` would have put its links in front of every visitor.
        base = services.settings.resolved_base_url.rstrip("/")
        return views.PageData(
            tenant, page, components, incidents, updates, health.now(), f"{base}{PREFIX}/{slug}"
        )

    @app.get(f"{PREFIX}/{{tenant}}", summary="The tenant's status page (HTML)", response_class=Response)
    async def page_html(tenant: Slug, if_none_match: Annotated[str | None, Header()] = None) -> Response:
        data = await run_in_threadpool(read, tenant)
        summary = views.summary_json(data)
        unresolved = summary["incidents"]
        shown = {incident["id"] for incident in unresolved}
        context = {
            "page": summary["page"],
            "status": summary["status"],
            "components": summary["components"],
            "unresolved": unresolved,
            "maintenances": summary["scheduled_maintenances"],
            "past": [views.incident_json(data, i) for i in views.incidents(data) if i.id not in shown],
            "base": f"{PREFIX}/{tenant}",
        }
        body = TEMPLATES.get_template("status.html").render(context).encode()
        return _cacheable(body, "text/html; charset=utf-8", if_none_match, HTML_HEADERS)

    for name, document in DOCUMENTS.items():
        _json_route(app, name, document, read)
    return app


def _json_route(
    app: FastAPI,
    name: str,
    document: Callable[[views.PageData], dict[str, Any]],
    read: Callable[[str], views.PageData],
) -> None:
    async def answer(tenant: Slug, if_none_match: Annotated[str | None, Header()] = None) -> Response:
        data = await run_in_threadpool(read, tenant)
        return _cacheable(orjson.dumps(document(data)), "application/json", if_none_match, {})

    answer.__name__ = "get_" + name.replace("/", "_").replace("-", "_")
    app.get(
        f"{PREFIX}/{{tenant}}/api/v2/{name}.json",
        summary=f"Statuspage v2: {name}.json",
        response_class=Response,
        responses={
            200: {"content": {"application/json": {"schema": {"type": "object"}}}},
            304: {"description": "Not modified"},
        },
    )(answer)


def _cacheable(body: bytes, media_type: str, if_none_match: str | None, headers: dict[str, str]) -> Response:
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    common = {**headers, "ETag": etag, "Cache-Control": "public, max-age=30"}
    if none_match(if_none_match, etag):
        return Response(status_code=304, headers=common)
    return Response(body, media_type=media_type, headers=common)


class HealthWatch:
    """ticketd's own checks, as the built-in component shows them: the store answered (the page was
    just read from it); rate limits counted in Redis fall back to each process's memory while Redis
    is away, a degradation. `updated_at` is when the state last changed in this process, so the
    answers stay the same, and their entity tags too, while nothing changes."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.current = Health(status=ComponentStatus.OPERATIONAL, checked_at=utcnow())

    def now(self) -> Health:
        admission = self.services.admission
        counters = admission.counters if admission is not None else None
        degraded = counters is not None and getattr(counters, "_down_since", None) is not None
        status = ComponentStatus.DEGRADED_PERFORMANCE if degraded else ComponentStatus.OPERATIONAL
        if status is not self.current.status:
            self.current = Health(status=status, checked_at=utcnow())
        return self.current
