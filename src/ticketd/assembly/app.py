"""The app factory: settings in, one ASGI app out, with every enabled face mounted.

Layers, outermost first: request ids and metrics, then either a polled status path (with its
face's rate limits by client IP, when on) or: rate limits by client IP (when on), `/metrics`, the
header-size guard, HEAD-as-GET, per-face request guards (406/413/415), then the face whose prefix
matches. The first steps are written out in one method (web/hot_path.HotPaths) for speed.
"""

from __future__ import annotations

import gc
import threading

from ticketd.assembly.registry import FALLBACK_RENDERER, build_faces
from ticketd.assembly.services import build_services
from ticketd.core.webhooks.dispatcher import WebhookDispatcher
from ticketd.core.worker import worker_for
from ticketd.limiting.admission import Admission
from ticketd.settings import Settings
from ticketd.web import log_safety
from ticketd.web.asgi import Receive, Scope, Send
from ticketd.web.dispatch import FaceDispatcher
from ticketd.web.guards import FaceRequestGuard, HeadAsGet, HeaderSizeGuard, face_for
from ticketd.web.hot_path import HotPaths
from ticketd.web.last_resort import LastResort
from ticketd.web.metrics_endpoint import MetricsEndpoint, gauges_of_store
from ticketd.web.rate_limits import LimitedFace, ObservedResponses, RateLimitGate
from ticketd.web.request_telemetry import RequestTelemetry
from ticketd.web.services import Services
from ticketd.web.termination import on_termination

MAX_HEADER_BYTES = 16_384


class TicketdApp(HotPaths):
    """The whole app. It is the hot path itself, so a status lookup enters no other layer."""

    def __init__(self, services: Services, admission: Admission | None = None) -> None:
        self.services = services
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.faces = build_faces(services)
        rules = [rule for face in self.faces for rule in face.rules]
        dispatcher = LastResort(
            FaceDispatcher(
                [(rule.prefix, face.app) for face in self.faces for rule in face.rules], FALLBACK_RENDERER
            ),
            rules,
            FALLBACK_RENDERER,
        )
        guarded = ObservedResponses(
            HeaderSizeGuard(
                HeadAsGet(FaceRequestGuard(dispatcher, rules)), rules, MAX_HEADER_BYTES, FALLBACK_RENDERER
            )
        )
        names = {rule.prefix: face.name for face in self.faces for rule in face.rules}

        def face_name(path: str) -> str:
            rule = face_for(rules, path)  # as the guards find a path's face
            return names[rule.prefix] if rule is not None else ""

        # With rate limits on, every request of a face passes the gate first (the polled paths
        # inside HotPaths, the rest in front of the metrics endpoint and the faces).
        gate = (
            None
            if admission is None
            else RateLimitGate(
                admission,
                [
                    LimitedFace(
                        face.name, tuple(rule.prefix for rule in face.rules), face.limits, face.refuse
                    )
                    for face in self.faces
                ],
            )
        )
        metrics = MetricsEndpoint(
            guarded, services.settings, gauges_of_store(services.sessions, services.engine)
        )
        super().__init__(
            metrics,
            [route for face in self.faces for route in face.hot_routes],
            MAX_HEADER_BYTES,
            RequestTelemetry(face_name),
            gate,
        )

    def _start_worker(self) -> None:
        # The embedded default: operations run in a thread of the server. With PostgreSQL and
        # separate `ticketd worker` processes, set TICKETD_EMBEDDED_WORKER=false.
        worker = worker_for(self.services.settings, self.services.sessions, embedded=True)
        dispatcher = WebhookDispatcher(
            self.services.sessions, self.services.settings, self.services.server_keys, worker.name
        )
        self._threads = [
            threading.Thread(
                target=worker.run_forever, args=(self._stop,), name="ticketd-worker", daemon=True
            ),
            threading.Thread(
                target=dispatcher.run_forever, args=(self._stop,), name="ticketd-webhooks", daemon=True
            ),
        ]
        for thread in self._threads:
            thread.start()

    def _stopping(self) -> None:
        """SIGTERM: event streams end now (with a hint to reconnect, which a client does to another
        server), the embedded worker gives back its operation at its next step."""
        self._stop.set()
        self.services.event_tail.close()

    async def not_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        await super().not_http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                on_termination(self._stopping)
                if self.services.settings.embedded_worker:
                    self._start_worker()
                self.telemetry.start()
                # The status mirror is loaded before the first client waits on it.
                self.services.reader.warm()
                # Everything built so far (routes, schemas, models) lives as long as the process.
                # Frozen, it is skipped by every later full collection, which otherwise walks it
                # all and stalls the event loop while clients poll.
                gc.collect()
                gc.freeze()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self._stop.set()
                for thread in self._threads:
                    thread.join(10)
                if self.services.admission is not None:
                    await self.services.admission.counters.aclose()
                self.services.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app(settings: Settings) -> TicketdApp:
    log_safety.install()
    services = build_services(settings)
    return TicketdApp(services, services.admission)


def app_from_environment() -> TicketdApp:
    """For `uvicorn --factory`: each server process builds its app from the TICKETD_* variables."""
    return create_app(Settings())
