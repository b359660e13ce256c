"""The request histogram, counted by ticketd and exposed through prometheus-client's collector
interface: cumulative buckets, count and sum as the library writes them, one process or several."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ticketd.telemetry.metrics import (
    MULTIPROCESS_DIRECTORY,
    REQUEST_DURATION_NAME,
    RequestDurationCollector,
    RequestDurations,
)

LABELS = ("GET", "/api/v1/tickets/{id}/status", 200, "native")


def _samples(durations: RequestDurations) -> dict[str, float]:
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    registry.register(RequestDurationCollector(durations))
    (family,) = text_string_to_metric_families(generate_latest(registry).decode())
    assert family.name == REQUEST_DURATION_NAME and family.type == "histogram"
    return {
        sample.name.removeprefix(REQUEST_DURATION_NAME) + sample.labels.get("le", ""): sample.value
        for sample in family.samples
    }


def _count(durations: RequestDurations, bucket: int, seconds: float) -> None:
    counts = durations.counts_for(LABELS)
    counts[bucket] += 1
    counts[-1] += seconds


def test_counts_are_exposed_cumulatively_and_add_up_over_flushes() -> None:
    durations = RequestDurations()
    _count(durations, 0, 0.0002)
    _count(durations, 0, 0.0003)
    _count(durations, 2, 0.002)
    durations.flush()
    _count(durations, len(durations.bounds), 12.0)  # beyond the last bound: +Inf only
    durations.flush()
    samples = _samples(durations)
    assert samples["_bucket0.0005"] == 2
    assert samples["_bucket0.001"] == 2
    assert samples["_bucket0.0025"] == 3
    assert samples["_bucket10.0"] == 3
    assert samples["_bucket+Inf"] == 4 == samples["_count"]
    assert samples["_sum"] == pytest.approx(12.0025)
    assert not any(durations.counts_for(LABELS)), "a flush zeroes the hot path's lists"


def test_every_processs_totals_add_up_in_multiprocess_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MULTIPROCESS_DIRECTORY, str(tmp_path))
    first, second = RequestDurations(), RequestDurations()
    assert first.file_name != second.file_name
    _count(first, 0, 0.0001)
    _count(second, 1, 0.0007)
    _count(second, 1, 0.0008)
    first.flush()
    second.flush()
    # Whichever process answers the scrape reads every process's file.
    samples = _samples(RequestDurations())
    assert samples["_bucket0.0005"] == 1
    assert samples["_bucket0.001"] == 3 == samples["_count"]
    assert samples["_sum"] == pytest.approx(0.0016)
