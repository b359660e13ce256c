"""Counting with `limits`, in memory and in a real Redis; and Redis going away and coming back."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy.orm import sessionmaker

from tests.redis_server import OwnRedis
from ticketd.core.errors import RateLimited
from ticketd.limiting.admission import Admission
from ticketd.limiting.config import FaceLimits, TenantLimitsCache
from ticketd.limiting.counters import (
    COUNT_SCRIPT_SHA,
    Counters,
    Hit,
    LocalCounters,
    ProcessMemoryStorage,
    RedisCounters,
    SharedCounters,
    StorageCounters,
)
from ticketd.limiting.policies import Policy, parse_policy


async def _hits(counters: StorageCounters | SharedCounters, text: str, n: int, *ids: str) -> list[bool]:
    policy = parse_policy("credential", text)
    return [(await counters.hit(policy, *ids)).allowed for _ in range(n)]


def test_fixed_window_in_memory() -> None:
    async def scenario() -> None:
        counters = LocalCounters()
        policy = parse_policy("credential", "3/minute")
        hits = [await counters.hit(policy, "native", "1", "key:a") for _ in range(5)]
        assert [hit.allowed for hit in hits] == [True, True, True, False, False]
        assert [hit.remaining for hit in hits] == [2, 1, 0, 0, 0]
        assert all(55 <= hit.reset <= 60 for hit in hits)
        # Another credential has its own count.
        assert (await counters.hit(policy, "native", "1", "key:b")).allowed

    asyncio.run(scenario())


def test_rolling_window_in_memory() -> None:
    async def scenario() -> None:
        counters = LocalCounters()
        policy = parse_policy("ip", "2/minute", rolling=True)
        hits = [await counters.hit(policy, "prioticket", "ip", "10.0.0.1") for _ in range(3)]
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
        first, second = RedisCounters(redis_url, redis_prefix, 1), RedisCounters(redis_url, redis_prefix, 1)
        policy = parse_policy("credential", "4/minute")
        verdicts = []
        for index in range(6):
            counters = first if index % 2 else second
            verdicts.append((await counters.hit(policy, "native", "1", "key:a")).allowed)
        assert verdicts == [True, True, True, True, False, False]
        remaining = (await second.hit(parse_policy("ip", "10/minute"), "native", "ip", "x")).remaining
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
        counters = RedisCounters(redis_url, redis_prefix, 1)
        policy = parse_policy("credential", "3/minute")
        verdicts = [(await counters.hit(policy, "native", "1", "key:s")).allowed]
        with redis.Redis.from_url(redis_url) as client:
            client.script_flush()
            assert client.script_exists(COUNT_SCRIPT_SHA.decode()) == [False]
        hits = [await counters.hit(policy, "native", "1", "key:s") for _ in range(3)]
        verdicts += [hit.allowed for hit in hits]
        assert verdicts == [True, True, True, False]
        assert [hit.remaining for hit in hits] == [1, 0, 0]
        with redis.Redis.from_url(redis_url) as client:
            assert client.script_exists(COUNT_SCRIPT_SHA.decode()) == [True]
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
        assert (await counters.hit(policy, "a")).allowed and counters.shared
        assert await counters.check() is None

        own.stop()
        with caplog.at_level(logging.WARNING, logger="ticketd.limiting.counters"):
            # Nothing fails and nothing is refused; the process counts on its own.
            assert all([(await counters.hit(policy, "a")).allowed for _ in range(20)])
            assert not counters.shared
            assert await counters.check() is not None
        assert any("cannot be reached" in record.message for record in caplog.records)

        own.start()  # the same port, empty
        await asyncio.sleep(1.1)
        assert await counters.check() is None
        assert counters.shared
        await counters.hit(policy, "a")
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
    """The library's memory storage starts a timer thread every 10 ms to expire counters; ours
    sweeps inline instead (see ProcessMemoryStorage), and still expires them."""
    storage = ProcessMemoryStorage()
    time.sleep(0.05)  # the one timer the library's constructor starts has run out
    before = threading.active_count()
    for _ in range(50):
        storage.incr("k", 1)
        time.sleep(0.002)
    assert threading.active_count() == before
    storage.incr("gone", 1)
    storage._next_sweep = 0.0
    time.sleep(1.05)
    storage.incr("k", 1)  # a due sweep runs on this call
    assert "gone" not in storage.storage


def test_ended_windows_are_swept_from_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario() -> None:
        counters = LocalCounters()
        policy = parse_policy("ip", "5/second")
        for n in range(100):
            await counters.hit(policy, "native", "ip", f"10.0.0.{n}")
        assert len(counters._windows) == 100
        later = time.time() + 10
        monkeypatch.setattr(time, "time", lambda: later)
        await counters.hit(policy, "native", "ip", "10.0.1.1")
        # Only the window just opened is left: the hundred that ended went with the sweep.
        assert list(counters._windows) == [policy.key_for(("native", "ip", "10.0.1.1"))]

    asyncio.run(scenario())


async def _counted(counters: Counters, policy: Policy, key: str) -> Hit:
    """A hit counted as a request counts it (`RequestLimits.count`, where a fixed window in Redis is
    awaited as the pipeline's reply, not through `hit`), refused or not."""
    limits = FaceLimits(parse_policy("ip", "1000/minute"), parse_policy("credential", "1000/minute"))
    # The tenants' limits are not read by a count: a store is never reached.
    request = Admission(counters, TenantLimitsCache(sessionmaker(), 3600)).request(
        "native", limits, "10.0.0.1"
    )
    with contextlib.suppress(RateLimited):
        await request.count(policy, "native", "1", key)
    return request.seen[-1][1]


async def _not_this_way(policy: Policy, *identifiers: str) -> Hit:
    raise AssertionError("a fixed window in Redis is counted through the pipeline's reply")


def test_requests_count_in_redis_exactly_across_processes(redis_url: str, redis_prefix: str) -> None:
    policy = parse_policy("credential", "4/minute")

    async def scenario() -> None:
        first = SharedCounters(redis_url, redis_prefix, 1)
        second = SharedCounters(redis_url, redis_prefix, 1)
        for counters in (first, second):
            counters.hit = _not_this_way  # type: ignore[method-assign]
        # Counted at once from both, as concurrent requests of two processes are.
        hits = await asyncio.gather(
            *(_counted(first if n % 2 else second, policy, "key:r") for n in range(6))
        )
        assert sorted(hit.allowed for hit in hits) == [False, False, True, True, True, True]
        assert sorted(hit.remaining for hit in hits) == [0, 0, 0, 1, 2, 3]
        assert all(55 <= hit.reset <= 60 for hit in hits)
        await first.aclose()
        await second.aclose()

    asyncio.run(scenario())
    with redis.Redis.from_url(redis_url) as client:
        assert client.get(f"{redis_prefix}:" + policy.key_for(("native", "1", "key:r"))) == b"6"


def test_requests_count_on_when_redis_forgets_the_script(redis_url: str, redis_prefix: str) -> None:
    policy = parse_policy("credential", "3/minute")

    async def scenario() -> None:
        counters = SharedCounters(redis_url, redis_prefix, 1)
        verdicts = [(await _counted(counters, policy, "key:f")).allowed]
        with redis.Redis.from_url(redis_url) as client:
            client.script_flush()
        verdicts += [(await _counted(counters, policy, "key:f")).allowed for _ in range(3)]
        assert verdicts == [True, True, True, False]
        assert counters.shared, "an unknown script is not Redis failing"
        await counters.aclose()

    asyncio.run(scenario())
    with redis.Redis.from_url(redis_url) as client:
        assert client.get(f"{redis_prefix}:" + policy.key_for(("native", "1", "key:f"))) == b"4"


def test_requests_count_in_memory_while_redis_is_away(own_redis: OwnRedis) -> None:
    own = own_redis

    async def scenario() -> None:
        counters = SharedCounters(own.url, "t", 0.25)
        policy = parse_policy("credential", "3/minute")
        assert (await _counted(counters, policy, "key:m")).allowed
        own.stop()
        # From the first count after Redis went away, the process counts on its own, from
        # zero, and still limits (fail-open).
        verdicts = [(await _counted(counters, policy, "key:m")).allowed for _ in range(4)]
        assert verdicts == [True, True, True, False]
        assert not counters.shared
        assert counters.hit_soon(policy, ("key:m",)) is None, "Redis is tried again by `hit` only"
        await counters.aclose()

    asyncio.run(scenario())
