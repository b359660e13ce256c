"""Commands of one event-loop turn share a round trip; each caller still gets its own reply."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tests.redis_server import OwnRedis
from ticketd.limiting.auto_pipeline import AutoPipeline
from ticketd.limiting.counters import RedisCounters
from ticketd.limiting.policies import parse_policy


def test_concurrent_counts_are_exact_and_batched(redis_url: str, redis_prefix: str) -> None:
    async def scenario() -> None:
        pipeline = AutoPipeline(redis_url, 1.0)
        key = f"{redis_prefix}:n"
        replies = await asyncio.gather(*(pipeline.call("INCR", key) for _ in range(500)))
        # Every increment counted once, and every caller saw a different count, in order.
        assert replies == list(range(1, 501))
        more = await asyncio.gather(*(pipeline.call("INCR", key) for _ in range(10)))
        assert more == list(range(501, 511))
        await pipeline.aclose()

    asyncio.run(scenario())


def test_an_error_reply_fails_only_its_own_caller(redis_url: str, redis_prefix: str) -> None:
    async def scenario() -> None:
        pipeline = AutoPipeline(redis_url, 1.0)
        text_key = f"{redis_prefix}:text"
        await pipeline.call("SET", text_key, "not a number")
        results = await asyncio.gather(
            pipeline.call("INCR", f"{redis_prefix}:a"),
            pipeline.call("INCR", text_key),
            pipeline.call("INCR", f"{redis_prefix}:a"),
            return_exceptions=True,
        )
        assert results[0] == 1 and results[2] == 2
        assert isinstance(results[1], ResponseError)
        # The connection stayed in step: the next command reads its own reply.
        assert await pipeline.call("GET", f"{redis_prefix}:a") == b"2"
        await pipeline.aclose()

    asyncio.run(scenario())


def test_redis_away_fails_every_queued_caller(tmp_path: Path) -> None:
    async def scenario() -> None:
        port_nobody_listens_on = OwnRedis(tmp_path).port
        pipeline = AutoPipeline(f"redis://127.0.0.1:{port_nobody_listens_on}/0", 0.5)
        calls = [pipeline.call("INCR", "x") for _ in range(3)]
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert all(isinstance(result, RedisConnectionError) for result in results), results
        await pipeline.aclose()

    asyncio.run(scenario())


def test_a_count_reports_when_its_window_ends(redis_url: str, redis_prefix: str) -> None:
    async def scenario() -> None:
        counters = RedisCounters(redis_url, redis_prefix, 1)
        policy = parse_policy("credential", "3/minute")
        hits = await asyncio.gather(*(counters.hit(policy, "native", "1", "key:b") for _ in range(4)))
        assert sorted(hit.remaining for hit in hits) == [0, 0, 1, 2]
        assert [hit.allowed for hit in hits].count(False) == 1
        assert all(55 <= hit.reset <= 60 for hit in hits)
        await counters.aclose()

    asyncio.run(scenario())


def test_a_server_that_stops_answering_fails_the_waiting_and_is_left(tmp_path: Path) -> None:
    """A Redis that accepts but never answers: callers fail after the timeout, not never."""

    async def scenario() -> None:
        accepted: list[asyncio.StreamWriter] = []
        server = await asyncio.start_server(lambda _, writer: accepted.append(writer), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pipeline = AutoPipeline(f"redis://127.0.0.1:{port}/0", 0.3)
        started = asyncio.get_running_loop().time()
        results = await asyncio.gather(pipeline.call("PING"), pipeline.call("PING"), return_exceptions=True)
        assert all(isinstance(result, RedisTimeoutError) for result in results), results
        assert asyncio.get_running_loop().time() - started < 1.5
        await pipeline.aclose()
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


def test_redis_coming_back_is_used_again(tmp_path: Path) -> None:
    own = OwnRedis(tmp_path)
    own.start()
    try:

        async def scenario() -> None:
            pipeline = AutoPipeline(own.url, 0.5)
            assert await pipeline.call("INCR", "k") == 1
            own.stop()
            with pytest.raises((RedisConnectionError, RedisTimeoutError)):
                await pipeline.call("INCR", "k")
            own.start()
            assert await pipeline.call("INCR", "k") == 1  # a new, empty server on the same port
            await pipeline.aclose()

        asyncio.run(scenario())
    finally:
        own.stop()


@pytest.mark.parametrize("amount", [1, 5])
def test_a_new_window_expires(redis_url: str, redis_prefix: str, amount: int) -> None:
    async def scenario() -> None:
        counters = RedisCounters(redis_url, redis_prefix, 1)
        count, left_ms = await counters._count("w", 2, amount)
        assert count == amount and 0 < left_ms <= 2000
        await counters.aclose()

    asyncio.run(scenario())
