"""Prometheus metrics, named as the OpenTelemetry HTTP conventions are spelled in Prometheus, plus
ticketd's own.

One process (the embedded default) keeps its values in memory. Several (`ticketd serve --workers N`)
share a directory named by PROMETHEUS_MULTIPROC_DIR, which `ticketd serve` creates, and whichever
process answers a scrape adds up every process's files (prometheus-client's multiprocess mode).
`ticketd worker` processes answer on a port of their own (`--metrics-port`).

The hot path's share: two clock reads, a dictionary lookup and a bisect a request (RequestDurations).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"
# OpenTelemetry's advice for http.server.request.duration, with finer steps below 5 ms, where
# ticketd's status lookups are answered.
DURATION_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0
)  # fmt: skip
# Distinct label sets kept at most (route templates only, but methods and statuses come from clients).
CHILDREN_LIMIT = 10_000
HTTP_LABELS = ("http_request_method", "http_route", "http_response_status_code", "face")

REQUEST_DURATION = Histogram(
    "http_server_request_duration_seconds",
    "Duration of HTTP server requests.",
    HTTP_LABELS,
    buckets=DURATION_BUCKETS,
)
ACTIVE_REQUESTS = Gauge(
    "http_server_active_requests",
    "Number of active HTTP server requests.",
    multiprocess_mode="livesum",
)
RATE_LIMIT_REFUSALS = Counter(
    "ticketd_rate_limit_refusals", "Requests refused by a rate limit.", ("face", "policy")
)
OPERATIONS_FINISHED = Counter(
    "ticketd_operations_finished", "Operations finished, by kind and final status.", ("kind", "status")
)
LEASE_LOSSES = Counter(
    "ticketd_operation_lease_losses", "Times a worker found its lease on an operation taken by another."
)
MIRROR_RELOADS = Counter("ticketd_status_mirror_reloads", "Full loads of a status mirror.")
MIRROR_LAG = Gauge(
    "ticketd_status_mirror_lag_seconds",
    "Seconds from a change's notification to its application in this process's mirror, last measured.",
    multiprocess_mode="max",
)
REDIS_FAIL_OPEN = Gauge(
    "ticketd_rate_limits_fail_open",
    "1 while Redis cannot be reached and rate limits are counted in each process's memory.",
    multiprocess_mode="max",
)

WEBHOOK_ATTEMPTS = Counter(
    "ticketd_webhook_attempts", "Webhook delivery attempts, by outcome (succeeded or failed).", ("outcome",)
)
WEBHOOK_LATENCY = Histogram(
    "ticketd_webhook_attempt_duration_seconds",
    "Duration of webhook delivery attempts.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15),
)
EVENT_STREAMS = Gauge("ticketd_event_streams", "Open event-stream connections.", multiprocess_mode="livesum")


class RequestDurations:
    """The request histogram, counted in plain lists on the hot path and added to prometheus-client's
    histogram once a second and before each scrape (by the web layer, on the event loop), in bulk.

    Observing through prometheus-client costs a lock and a Python loop over the buckets a request;
    measured in the server, with the active-requests gauge, about 5 µs of the 3 µs this layer may
    spend. Here a request costs a dictionary lookup, a comparison (or a bisect in C) and two list
    updates. A label set's list lives as long as the process (a flush zeroes it), so the hot path
    may keep it (web/hot_path.py keeps each polled route's by status). The active requests are a
    plain integer, set on the gauge at the same moments (a sampled gauge).
    """

    FLUSH_EVERY_SECONDS = 1.0

    def __init__(self) -> None:
        self.bounds = list(DURATION_BUCKETS)
        # Label values -> [count per bucket (the last is +Inf)..., sum of seconds], since the last
        # flush.
        self.counts: dict[tuple[str, str, int, str], list[float]] = {}
        self.active = 0

    def counts_for(self, key: tuple[str, str, int, str]) -> list[float]:
        """The list a label set is counted in."""
        counts = self.counts.get(key)
        if counts is None:
            method, _, status, face = key
            if len(self.counts) >= CHILDREN_LIMIT:
                key = (method, "(other)", status, face)
            counts = self.counts.setdefault(key, [0.0] * (len(self.bounds) + 2))
        return counts

    def flush(self) -> None:
        """Adds what was counted since the last flush to the exported histogram. On the event loop's
        thread, as the counting is (web/hot_path.py, which adds to `counts_for`'s lists: no lock
        between them)."""
        ACTIVE_REQUESTS.set(self.active)
        for (method, route, status, face), counts in self.counts.items():
            if not any(counts):
                continue
            child = REQUEST_DURATION.labels(method, route, str(status), face)
            # prometheus-client keeps one value per bucket (not cumulative) and the sum; these are
            # the same values its `observe` adds to, added to in bulk.
            for index in range(len(counts) - 1):
                if counts[index]:
                    child._buckets[index].inc(counts[index])
                    counts[index] = 0.0
            child._sum.inc(counts[-1])
            counts[-1] = 0.0


REQUESTS = RequestDurations()


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROCESS_DIRECTORY))


class GaugesAtScrape(Collector):
    """Values read when scraped (the store's queue, the connection pool), by a callable."""

    def __init__(self, collect: Callable[[], Iterable[Metric]]) -> None:
        self._collect = collect

    def collect(self) -> Iterable[Metric]:
        return self._collect()


def exposition(at_scrape: Iterable[Collector] = ()) -> tuple[bytes, str]:
    """The body and content type of a scrape: every process's values, and those read now."""
    registry = CollectorRegistry()
    if multiprocess():
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Everything())
    for collector in at_scrape:
        registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _Everything(Collector):
    """The process's default registry (its metrics and the process and platform collectors)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()
