"""`GET /metrics`: the Prometheus exposition, for the loopback by default or for a bearer token.

Scrapes are rare and may read the store (the queue's depth), so the body is built on a thread.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
from collections.abc import Iterable
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from ticketd.settings import Settings
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import Operation
from ticketd.telemetry.metrics import REQUESTS, GaugesAtScrape, exposition
from ticketd.web.asgi import ASGIApp, Receive, Scope, Send, header, respond
from ticketd.web.request_telemetry import FACE_KEY, ROUTE_KEY

PATH = "/metrics"
TEXT = (b"content-type", b"text/plain; charset=utf-8")


class MetricsEndpoint:
    def __init__(self, app: ASGIApp, settings: Settings, at_scrape: list[Collector]) -> None:
        self.app = app
        self.token = settings.metrics_token.encode()
        self.at_scrape = at_scrape

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        scope[ROUTE_KEY], scope[FACE_KEY] = PATH, ""
        if scope["method"] not in ("GET", "HEAD"):
            await respond(send, 405, [TEXT, (b"allow", b"GET, HEAD")], b"use GET\n")
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await respond(send, *refusal)
            return
        REQUESTS.flush()  # here, on the event loop, where requests are counted
        body, content_type = await asyncio.to_thread(exposition, self.at_scrape)
        headers = [(b"content-type", content_type.encode()), (b"cache-control", b"no-store")]
        await respond(send, 200, headers, b"" if scope["method"] == "HEAD" else body)

    def _refusal(self, scope: Scope) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        if self.token:
            offered = (header(scope, b"authorization") or "").encode("latin-1")
            scheme, _, value = offered.partition(b" ")
            if scheme.lower() == b"bearer" and hmac.compare_digest(value.strip(), self.token):
                return None
            challenge = (b"www-authenticate", b'Bearer realm="metrics"')
            return 401, [TEXT, challenge], b"a bearer token (TICKETD_METRICS_TOKEN) is required\n"
        client = scope.get("client")
        if client is not None and _loopback(client[0]):
            return None
        return 403, [TEXT], b"/metrics answers the loopback only; set TICKETD_METRICS_TOKEN to open it\n"


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def gauges_of_store(sessions: sessionmaker[Session], engine: Engine) -> list[Collector]:
    """The operations waiting and the oldest one's age; the connection pool's use."""

    def collect() -> Iterable[Metric]:
        with unit_of_work(sessions, write=False) as db:
            depth, oldest = db.execute(
                select(func.count(), func.min(Operation.created_at)).where(Operation.status == "pending")
            ).one()
        pending = GaugeMetricFamily("ticketd_operations_pending", "Operations waiting for a worker.")
        pending.add_metric([], depth)
        age = GaugeMetricFamily(
            "ticketd_operations_oldest_pending_age_seconds", "Age of the oldest operation waiting (0: none)."
        )
        age.add_metric([], (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0)
        pool = engine.pool
        used = GaugeMetricFamily(
            "ticketd_db_pool_connections", "This process's database connections, by state.", labels=["state"]
        )
        checked_out = getattr(pool, "checkedout", None)
        idle = getattr(pool, "checkedin", None)
        if callable(checked_out) and callable(idle):
            used.add_metric(["used"], checked_out())
            used.add_metric(["idle"], idle())
        return [pending, age, used]

    return [GaugesAtScrape(collect)]


def serve_worker_metrics(host: str, port: int, sessions: sessionmaker[Session], engine: Engine) -> None:
    """A `ticketd worker`'s own /metrics, on a thread of prometheus-client's HTTP server."""
    from prometheus_client import start_http_server
    from prometheus_client.registry import REGISTRY

    for collector in gauges_of_store(sessions, engine):
        REGISTRY.register(collector)
    start_http_server(port, addr=host)
