"""Prometheus metrics, named as the OpenTelemetry HTTP conventions are spelled in Prometheus, plus
ticketd's own.

One process (the embedded default) keeps its values in memory. Several (`ticketd serve --workers N`)
share a directory named by PROMETHEUS_MULTIPROC_DIR, which `ticketd serve` creates, and whichever
process answers a scrape adds up every process's files (prometheus-client's multiprocess mode).
`ticketd worker` processes answer on a port of their own (`--metrics-port`).

The hot path's share: two clock reads, a dictionary lookup and a bisect a request (RequestDurations).
The request histogram is therefore counted by ticketd and handed to prometheus-client the documented
way, as a collector yielding a metric family, so that the exposition stays the library's.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import HistogramMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector
from prometheus_client.utils import floatToGoString

MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"
# OpenTelemetry's advice for http.server.request.duration, with finer steps below 5 ms, where
# ticketd's status lookups are answered.
DURATION_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0
)  # fmt: skip
# Distinct label sets kept at most (route templates only, but methods and statuses come from clients).
CHILDREN_LIMIT = 10_000
HTTP_LABELS = ("http_request_method", "http_route", "http_response_status_code", "face")

REQUEST_DURATION_NAME = "http_server_request_duration_seconds"
REQUEST_DURATION_HELP = "Duration of HTTP server requests."
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


LabelValues = tuple[str, str, int, str]


class RequestDurations:
    """The request histogram, counted in plain lists on the hot path and added to this process's
    totals once a second and before each scrape (by the web layer, on the event loop), in bulk.

    Observing through prometheus-client's Histogram costs a lock and a Python loop over the buckets
    a request; measured in the server, with the active-requests gauge, about 5 µs of the 3 µs this
    layer may spend. Here a request costs a dictionary lookup, a comparison (or a bisect in C) and
    two list updates. A label set's list lives as long as the process (a flush zeroes it), so the
    hot path may keep it (web/hot_path.py keeps each polled route's by status). The active requests
    are a plain integer, set on the gauge at the same moments (a sampled gauge).

    The totals are exported by `RequestDurationCollector`. With several processes each writes its
    totals to a file of its own in the multiprocess directory at every flush, and the process that
    answers a scrape adds up every file, as prometheus-client's multiprocess mode does for its own
    metrics (a process that ended keeps its file: its requests still happened).
    """

    FLUSH_EVERY_SECONDS = 1.0

    def __init__(self) -> None:
        self.bounds = list(DURATION_BUCKETS)
        # Label values -> [count per bucket (the last is +Inf)..., sum of seconds], since the last
        # flush.
        self.counts: dict[LabelValues, list[float]] = {}
        # The same, since the process started.
        self.totals: dict[LabelValues, list[float]] = {}
        self.active = 0
        # This process's file in the multiprocess directory: the pid and a token, as a pid can come again.
        self.file_name = f"ticketd_requests_{os.getpid()}_{secrets.token_hex(4)}.json"

    def counts_for(self, key: LabelValues) -> list[float]:
        """The list a label set is counted in."""
        counts = self.counts.get(key)
        if counts is None:
            method, _, status, face = key
            if len(self.counts) >= CHILDREN_LIMIT:
                key = (method, "(other)", status, face)
            counts = self.counts.setdefault(key, [0.0] * (len(self.bounds) + 2))
        return counts

    def flush(self) -> None:
        """Adds what was counted since the last flush to the totals. On the event loop's thread, as
        the counting is (web/hot_path.py, which adds to `counts_for`'s lists: no lock between them)."""
        ACTIVE_REQUESTS.set(self.active)
        moved = False
        for key, counts in self.counts.items():
            if not any(counts):
                continue
            totals = self.totals.get(key)
            if totals is None:
                totals = self.totals[key] = [0.0] * len(counts)
            for index, value in enumerate(counts):
                if value:
                    totals[index] += value
                    counts[index] = 0.0
            moved = True
        directory = os.environ.get(MULTIPROCESS_DIRECTORY)
        if moved and directory:
            _write_totals(Path(directory) / self.file_name, self.totals)


def _write_totals(path: Path, totals: dict[LabelValues, list[float]]) -> None:
    """Replaced whole, so a scrape never reads half a file."""
    written = path.with_suffix(".tmp")
    written.write_text(json.dumps([[list(key), values] for key, values in totals.items()]))
    written.replace(path)


def _read_totals(path: Path) -> list[tuple[LabelValues, list[float]]]:
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError):
        return []  # gone or being replaced between the listing and the read
    return [((method, route, int(status), face), values) for (method, route, status, face), values in entries]


class RequestDurationCollector(Collector):
    """The request histogram as prometheus-client's metric family: this process's totals, or every
    process's in multiprocess mode."""

    def __init__(self, durations: RequestDurations) -> None:
        self.durations = durations

    def collect(self) -> Iterable[Metric]:
        added: dict[LabelValues, list[float]] = {}
        directory = os.environ.get(MULTIPROCESS_DIRECTORY)
        if directory:
            files = Path(directory).glob("ticketd_requests_*.json")
            entries = [entry for path in sorted(files) for entry in _read_totals(path)]
        else:
            entries = list(self.durations.totals.items())
        for key, values in entries:
            into = added.get(key)
            if into is None:
                added[key] = list(values)
            else:
                for index, value in enumerate(values):
                    into[index] += value
        family = HistogramMetricFamily(REQUEST_DURATION_NAME, REQUEST_DURATION_HELP, labels=HTTP_LABELS)
        # The library's own spelling of a bucket bound (untyped upstream).
        bounds = [*(floatToGoString(bound) for bound in self.durations.bounds), "+Inf"]  # type: ignore[no-untyped-call]
        for (method, route, status, face), values in sorted(added.items()):
            cumulative, buckets = 0.0, []
            for bound, value in zip(bounds, values[:-1], strict=True):
                cumulative += value
                buckets.append((bound, cumulative))
            family.add_metric([method, route, str(status), face], buckets, values[-1])
        yield family


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
    registry.register(RequestDurationCollector(REQUESTS))
    for collector in at_scrape:
        registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _Everything(Collector):
    """The process's default registry (its metrics and the process and platform collectors)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()
