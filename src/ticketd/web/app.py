"""The app factory: settings in, one ASGI app out, with every face mounted.

Layers, outermost first: the status hot path, the header-size guard, per-face request guards,
idempotency keys, then the face apps themselves.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator
from datetime import timedelta

from fastapi import FastAPI

from ticketd.faces.native.app import PREFIX as NATIVE_PREFIX
from ticketd.faces.native.app import build_native_app, face_rules
from ticketd.faces.native.errors import render_error
from ticketd.settings import Settings
from ticketd.web.guards import FaceRequestGuard, HeadAsGet, HeaderSizeGuard
from ticketd.web.hot_path import StatusHotPath
from ticketd.web.idempotency import IdempotencyLayer
from ticketd.web.services import Services, build_services

MAX_HEADER_BYTES = 16_384


class TicketdApp(StatusHotPath):
    """The whole app. It is the hot path itself, so a status lookup enters no other layer."""

    def __init__(self, services: Services) -> None:
        self.services = services
        native = build_native_app(services)
        native.router.lifespan_context = self._lifespan
        rules = [face_rules(services)]
        app = IdempotencyLayer(
            native,
            prefix=NATIVE_PREFIX,
            sessions=services.sessions,
            authenticator=services.authenticator,
            render_error=render_error,
            ttl=timedelta(seconds=services.settings.idempotency_ttl_seconds),
        )
        guarded = HeaderSizeGuard(
            HeadAsGet(FaceRequestGuard(app, rules)), rules, MAX_HEADER_BYTES, render_error
        )
        super().__init__(guarded, services.authenticator, MAX_HEADER_BYTES)
        self.native: FastAPI = native

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        # Everything built so far (routes, schemas, models) lives as long as the process. Frozen,
        # it is skipped by every later full collection, which otherwise walks it all and stalls
        # the event loop while clients poll.
        gc.collect()
        gc.freeze()
        yield
        self.services.close()


def create_app(settings: Settings) -> TicketdApp:
    return TicketdApp(build_services(settings))


def app_from_environment() -> TicketdApp:
    """For `uvicorn --factory`: each server process builds its app from the TICKETD_* variables."""
    return create_app(Settings())
