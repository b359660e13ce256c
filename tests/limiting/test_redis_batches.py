"""Commands of one event-loop turn share a round trip on one of redis-py's connections; each caller
still gets its own reply."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from redis.asyncio import ConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tests.redis_server import OwnRedis
from ticketd.limiting.redis_batches import RedisBatches


def _batches(url: str, timeout: float) -> RedisBatches:
    return RedisBatches(ConnectionPool.from_url(url, socket_connect_timeout=timeout), timeout)


def test_concurrent_commands_are_exact_and_batched(redis_url: str, redis_prefix: str) -> None:
    async def scenario() -> None:
        batches = _batches(redis_url, 1.0)
        key = f"{redis_prefix}:n"
        replies = await asyncio.gather(*(batches.call("INCR", key) for _ in range(500)))
        # Every increment counted once, and every caller saw a different count, in order.
        assert replies == list(range(1, 501))
        more = await asyncio.gather(*(batches.call("INCR", key) for _ in range(10)))
        assert more == list(range(501, 511))
        await batches.aclose()

    asyncio.run(scenario())


def test_a_turns_commands_go_in_one_write(redis_url: str, redis_prefix: str) -> None:
    async def scenario() -> None:
        batches = _batches(redis_url, 1.0)
        await batches.call("PING")
        connection = batches._connection
        assert connection is not None
        writes: list[int] = []
        send = connection.send_packed_command

        async def counted_send(command: object, check_health: bool = True) -> None:
            writes.append(1)
            await send(command, check_health)  # type: ignore[arg-type]

        connection.send_packed_command = counted_send  # type: ignore[method-assign]
        await asyncio.gather(*(batches.call("INCR", f"{redis_prefix}:w") for _ in range(50)))
        assert len(writes) == 1
        await batches.aclose()

    asyncio.run(scenario())


def test_an_error_reply_fails_only_its_own_caller(redis_url: str, redis_prefix: str) -> None:
    async def scenario() -> None:
        batches = _batches(redis_url, 1.0)
        text_key = f"{redis_prefix}:text"
        await batches.call("SET", text_key, "not a number")
        results = await asyncio.gather(
            batches.call("INCR", f"{redis_prefix}:a"),
            batches.call("INCR", text_key),
            batches.call("INCR", f"{redis_prefix}:a"),
            return_exceptions=True,
        )
        assert results[0] == 1 and results[2] == 2
        assert isinstance(results[1], ResponseError)
        # The connection stayed in step: the next command reads its own reply.
        assert await batches.call("GET", f"{redis_prefix}:a") == b"2"
        await batches.aclose()

    asyncio.run(scenario())


def test_redis_away_fails_every_queued_caller(tmp_path: Path) -> None:
    async def scenario() -> None:
        port_nobody_listens_on = OwnRedis(tmp_path).port
        batches = _batches(f"redis://127.0.0.1:{port_nobody_listens_on}/0", 0.5)
        calls = [batches.call("INCR", "x") for _ in range(3)]
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert all(isinstance(result, RedisConnectionError) for result in results), results
        await batches.aclose()

    asyncio.run(scenario())


def test_a_server_that_stops_answering_fails_the_waiting_and_is_left(tmp_path: Path) -> None:
    """A Redis that accepts but never answers: callers fail after the timeout, not never."""

    async def scenario() -> None:
        accepted: list[asyncio.StreamWriter] = []
        server = await asyncio.start_server(lambda _, writer: accepted.append(writer), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        # RESP2 with no handshake: the server's silence is met by the batch, not by connecting.
        batches = _batches(f"redis://127.0.0.1:{port}/0?protocol=2", 0.3)
        started = asyncio.get_running_loop().time()
        results = await asyncio.gather(batches.call("PING"), batches.call("PING"), return_exceptions=True)
        assert all(isinstance(result, RedisTimeoutError) for result in results), results
        assert asyncio.get_running_loop().time() - started < 1.5
        assert batches._connection is None, "the connection out of step is dropped"
        await batches.aclose()
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
            batches = _batches(own.url, 0.5)
            assert await batches.call("INCR", "k") == 1
            own.stop()
            with pytest.raises((RedisConnectionError, RedisTimeoutError)):
                await batches.call("INCR", "k")
            own.start()
            assert await batches.call("INCR", "k") == 1  # a new, empty server on the same port
            await batches.aclose()

        asyncio.run(scenario())
    finally:
        own.stop()
