"""Wallet's app: its document, its error handling, its routes (routes_tickets.py); the ticket
lookup it describes is answered on the polled path (hot.py)."""

from __future__ import annotations

from fastapi import FastAPI

from ticketd.faces.apps import face_app
from ticketd.faces.error_handlers import install_error_handlers
from ticketd.faces.wallet import routes_tickets
from ticketd.faces.wallet.errors import ERROR_DOCS, FACE_ERRORS
from ticketd.faces.wallet.hot import describe_ticket_route
from ticketd.faces.wallet.paths import PREFIX
from ticketd.web.services import Services


def build_wallet_app(services: Services) -> FastAPI:
    app = face_app(
        services,
        title="Airship Wallet API: tickets (ticketd)",
        version="1.2",
        description="Wallet tickets and system status, as ticketd serves them (docs/faces/wallet.md).",
        openapi_url=f"{PREFIX}/openapi.json",
        errors=ERROR_DOCS,
        operation_ids={
            "system_status": "getSystemStatus",
            "ticket": "getTicket",
            "update_by_tag": "updateTicketsByTag",
        },
        described=describe_ticket_route,
    )
    install_error_handlers(app, FACE_ERRORS)
    app.include_router(routes_tickets.router)
    return app
