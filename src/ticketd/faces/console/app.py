"""The console's app: its static files, the sign-in redirect, and the pages of each role
(routes_session: signing in and out; routes_tickets: the queue, a ticket, the customers' portal,
the live feed; routes_admin: users, keys, limits; routes_admin_work: operations, webhooks, the
status page)."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.staticfiles import StaticFiles

from ticketd import __version__
from ticketd.faces.apps import face_app
from ticketd.faces.console import (
    routes_admin,
    routes_admin_mail,
    routes_admin_work,
    routes_session,
    routes_tickets,
)
from ticketd.faces.console.errors import FACE_ERRORS
from ticketd.faces.console.pages import redirect
from ticketd.faces.console.paths import PREFIX
from ticketd.faces.console.visitors import SignInRequired, sign_in_path
from ticketd.faces.error_handlers import install_error_handlers
from ticketd.web.services import Services

STATIC = resources.files("ticketd.faces.console") / "static"


def build_console_app(services: Services) -> FastAPI:
    app = face_app(
        services,
        title="ticketd console",
        version=__version__,
        description="Server-rendered pages for agents, customers and admins.",
        openapi_url=None,
    )
    install_error_handlers(app, FACE_ERRORS)

    @app.exception_handler(SignInRequired)
    async def to_sign_in(_request: Request, exc: SignInRequired) -> Response:
        return redirect(sign_in_path(exc.then))

    app.mount(f"{PREFIX}/static", StaticFiles(directory=str(STATIC)), name="console-static")
    for module in (routes_session, routes_tickets, routes_admin, routes_admin_work, routes_admin_mail):
        app.include_router(module.router, prefix=PREFIX)
    return app
