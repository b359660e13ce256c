"""Counting in memory and in a real Redis; and Redis going away and coming back."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.redis_server import OwnRedis
from ticketd.limiting.counters import Counters, LocalCounters, counted
from ticketd.limiting.policies import parse_policy
from ticketd.limiting.shared_counters import SharedCounters


async def _hits(counters: Counters, text: str, n: int, *ids: str) -> list[bool]:
    policy = parse_policy("credential", text)
    return [(await counted(counters, policy, *ids)).allowed for _ in range(n)]


def test_fixed_window_in_memory() -> None:
    async def scenario() -> None:
        counters = LocalCounters()
        policy = parse_policy("credential", "3/minute")
        hits = [await counted(counters, policy, "native", "1", "key:a") for _ in range(5)]
        assert [hit.allowed for hit in hits] == [True, True, True, False, False]
        assert [hit.remaining for hit in hits] == [2, 1, 0, 0, 0]
        assert all(55 <= hit.reset <= 60 for hit in hits)
        # Another credential has its own count.
        assert (await counted(counters, policy, "native", "1", "key:b")).allowed

    asyncio.run(scenario())


def test_rolling_window_in_memory() -> None:
    async def scenario() -> None:
        counters = LocalCounters()
        policy = parse_policy("ip", "2/minute", rolling=True)
        hits = [await counted(counters, policy, "prioticket", "ip", "10.0.0.1") for _ in range(3)]
        assert [hit.allowed for hit in hits] == [True, True, False]
        assert hits[-1].remaining == 0 and 1 <= hits[-1].reset <= 60

    asyncio.run(scenario())


def test_blocks_expire() -> None:
    async def scenario() -> None:
        counters = LocalCounters()
        assert await counters.blocked_for("block/x") == 0
        await counters.block("block/x", 1)
        assert await counters.blocked_for("block/x") == 1
        await asyncio.sleep(1.1)
        assert await counters.blocked_for("block/x") == 0

    asyncio.run(scenario())


def test_counts_in_redis_are_shared(redis_url: str, redis_prefix: str) -> None:
    async def scenario() -> None:
        # Two sets of counters, as two processes would have.
        first, second = SharedCounters(redis_url, redis_prefix, 1), SharedCounters(redis_url, redis_prefix, 1)
        policy = parse_policy("credential", "4/minute")
        verdicts = []
        for index in range(6):
            counters = first if index % 2 else second
            verdicts.append((await counted(counters, policy, "native", "1", "key:a")).allowed)
        assert verdicts == [True, True, True, True, False, False]
        remaining = (await counted(second, parse_policy("ip", "10/minute"), "native", "ip", "x")).remaining
        assert remaining == 9
        assert await _hits(first, "2/minute", 3, "r", "rolling") == [True, True, False]
        await first.aclose()
        await second.aclose()

    asyncio.run(scenario())
    with redis.Redis.from_url(redis_url) as client:
        keys = client.keys(f"{redis_prefix}:*")
    assert keys, "the counts are kept under the configured prefix"


def test_counts_in_redis_go_on_when_redis_forgets_the_script(redis_url: str, redis_prefix: str) -> None:
    """Counts are sent by the script's SHA1; a Redis that restarted or flushed its scripts answers
    NOSCRIPT, and the count is made with the script itself, exactly once."""

    async def scenario() -> None:
        counters = SharedCounters(redis_url, redis_prefix, 1)
        policy = parse_policy("credential", "3/minute")
        verdicts = [(await counted(counters, policy, "native", "1", "key:s")).allowed]
        with redis.Redis.from_url(redis_url) as client:
            client.script_flush()
            assert client.script_exists(counters.count_script.sha) == [False]
        hits = [await counted(counters, policy, "native", "1", "key:s") for _ in range(3)]
        verdicts += [hit.allowed for hit in hits]
        assert verdicts == [True, True, True, False]
        assert [hit.remaining for hit in hits] == [1, 0, 0]
        with redis.Redis.from_url(redis_url) as client:
            assert client.script_exists(counters.count_script.sha) == [True]
            assert client.get(f"{redis_prefix}:" + policy.key_for(("native", "1", "key:s"))) == b"4"
        await counters.aclose()

    asyncio.run(scenario())


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    """A Redis of the test's own, started; a test may stop and start it."""
    own = OwnRedis(tmp_path)
    own.start()
    try:
        yield own
    finally:
        own.stop()


def test_shared_counters_fail_open_and_recover(own_redis: OwnRedis, caplog: pytest.LogCaptureFixture) -> None:
    own = own_redis

    async def scenario() -> None:
        counters = SharedCounters(own.url, "t", 0.25)
        policy = parse_policy("credential", "1000/minute")
        assert (await counted(counters, policy, "a")).allowed and counters.shared
        assert await counters.check() is None

        own.stop()
        with caplog.at_level(logging.WARNING, logger="ticketd.limiting.counters"):
            # Nothing fails and nothing is refused; the process counts on its own.
            assert all([(await counted(counters, policy, "a")).allowed for _ in range(20)])
            assert not counters.shared
            assert await counters.check() is not None
        assert any("cannot be reached" in record.message for record in caplog.records)

        own.start()  # the same port, empty
        await asyncio.sleep(1.1)
        assert await counters.check() is None
        assert counters.shared
        await counted(counters, policy, "a")
        with redis.Redis.from_url(own.url) as client:
            assert client.keys("t:*"), "counting in Redis again"
        await counters.aclose()

    asyncio.run(scenario())


def test_local_fallback_still_limits(tmp_path: Path) -> None:
    async def scenario() -> None:
        port_nobody_listens_on = OwnRedis(tmp_path).port
        counters = SharedCounters(f"redis://127.0.0.1:{port_nobody_listens_on}/0", "t", 0.25)
        assert await _hits(counters, "3/minute", 4, "a") == [True, True, True, False]
        await counters.aclose()

    asyncio.run(scenario())


def test_memory_counting_starts_no_threads() -> None:
    """Counting in memory, fixed and rolling windows alike, starts no thread (the `limits` library's
    memory storage starts a timer thread every 10 ms to expire its counters)."""
    counters = LocalCounters()
    before = threading.active_count()
    for n in range(50):
        counters.hit(parse_policy("ip", "5/second", rolling=True), "prioticket", "ip", str(n))
        counters.hit(parse_policy("ip", "5/second"), "native", "ip", str(n))
        time.sleep(0.002)
    assert threading.active_count() == before


def test_ended_windows_are_swept_from_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario() -> None:
        counters = LocalCounters()
        policy = parse_policy("ip", "5/second")
        for n in range(100):
            await counted(counters, policy, "native", "ip", f"10.0.0.{n}")
        assert len(counters._windows) == 100
        later = time.time() + 10
        monkeypatch.setattr(time, "time", lambda: later)
        await counted(counters, policy, "native", "ip", "10.0.1.1")
        # Only the window just opened is left: the hundred that ended went with the sweep.
        assert list(counters._windows) == [policy.key_for(("native", "ip", "10.0.1.1"))]

    asyncio.run(scenario())


def test_rolling_windows_that_ended_are_swept_from_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    counters = LocalCounters()
    policy = parse_policy("ip", "5/second", rolling=True)
    for n in range(100):
        counters.hit(policy, "prioticket", "ip", f"10.0.0.{n}")
    later = time.time() + 10
    monkeypatch.setattr(time, "time", lambda: later)
    counters.hit(policy, "prioticket", "ip", "10.0.1.1")
    assert list(counters._rolling) == [policy.key_for(("prioticket", "ip", "10.0.1.1"))]


@settings(max_examples=200, deadline=None)
@given(
    quota=st.integers(1, 6),
    # Multiples of 0.7 s: no two hits exactly a window (2 s) apart, where the library's two
    # methods disagree with each other (one counts the boundary in, the other out).
    gaps=st.lists(st.sampled_from([0.0, 0.7, 1.4, 2.1, 2.8]), min_size=1, max_size=40),
)
def test_the_rolling_window_counts_as_the_limits_librarys_moving_window(
    quota: int, gaps: list[float]
) -> None:
    """The moving window counted here agrees with the `limits` library's, hit for hit, over any
    sequence of hits in time: what is allowed, what remains and when the quota is restored."""
    from limits.storage import MemoryStorage
    from limits.strategies import MovingWindowRateLimiter

    clock = [1_000_000.0]
    policy = parse_policy("ip", f"{quota}/2 seconds", rolling=True)
    ours = LocalCounters()
    theirs = MovingWindowRateLimiter(MemoryStorage())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(time, "time", lambda: clock[0])
        for gap in gaps:
            clock[0] += gap
            hit = ours.hit(policy, "x")
            allowed = theirs.hit(policy.item, "x")
            stats = theirs.get_window_stats(policy.item, "x")
            assert (hit.allowed, hit.remaining) == (allowed, stats.remaining)
            assert hit.reset == max(1, round(stats.reset_time - clock[0]))
