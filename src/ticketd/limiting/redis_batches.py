"""The Redis commands issued in one turn of the event loop, written together on one of redis-py's
connections and read back in order (auto-pipelining, as ioredis and node-redis do).

Counting a request takes a command or two. Each sent as a call of its own through redis-py costs a
connection taken from the pool and given back, a write and a wakeup: about 38 µs of CPU apiece
here. Under load many requests are counted in the same turn, so their commands are queued and the
next turn sends them in one write and reads their replies with the connection's parser.

redis-py owns everything about the connection: the URL in every form it accepts (`redis://`,
`rediss://` with `ssl_ca_certs` and the other TLS options, `unix://`, ACL user and password,
database), the handshake, the encoding of commands and the parsing of replies. What is kept here is
only the batching (commands packed by hiredis' `pack_command`, in C, as redis-py itself packs
them when hiredis is installed, but without its Python loop over the arguments): one connection
taken from the pool for as long as it works, one batch in flight on it at a time (while one is read
the next turn's commands gather), and one timeout a batch rather than one a reply (each of
redis-py's per-read timeouts is a timer set and cancelled).

Nothing about exactness changes: each command is still atomic in Redis, the batch is not a
transaction, and each reply goes to the caller that asked, an error reply to its caller alone. A
connection that fails or does not answer within the timeout is dropped and every command of its
batch fails with redis-py's ConnectionError or TimeoutError; the next batch takes a new connection.
"""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING, Any

import hiredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

if TYPE_CHECKING:
    from redis.asyncio.connection import AbstractConnection, ConnectionPool


class RedisBatches:
    def __init__(self, pool: ConnectionPool, timeout: float) -> None:
        """`pool`: redis-py's, with no socket timeout of its own (a batch has `timeout`)."""
        self._pool = pool
        self._timeout = timeout
        self._queued: list[tuple[bytes, asyncio.Future[Any]]] = []
        self._sending: asyncio.Task[None] | None = None
        self._connection: AbstractConnection | None = None

    def call(self, *command: Any) -> asyncio.Future[Any]:
        """Queues `command`; the future holds its reply, or its error."""
        return self.call_packed(bytes(hiredis.pack_command(command)))

    def call_packed(self, command: bytes) -> asyncio.Future[Any]:
        """`call` with a command already packed by `hiredis.pack_command` (a caller that sends the
        same command again and again packs it once)."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queued.append((command, future))
        if self._sending is None:
            # Runs from the next turn, by when this turn's other commands are queued too.
            self._sending = asyncio.ensure_future(self._send_queued())
        return future

    async def _send_queued(self) -> None:
        try:
            while self._queued:
                batch, self._queued = self._queued, []
                await self._send(batch)
        finally:
            self._sending = None

    async def _send(self, batch: list[tuple[bytes, asyncio.Future[Any]]]) -> None:
        answered = 0
        try:
            async with asyncio.timeout(self._timeout):
                connection = self._connection
                if connection is None:
                    connection = self._connection = await self._pool.get_connection()  # type: ignore[no-untyped-call]
                await connection.send_packed_command(
                    b"".join([command for command, _ in batch]), check_health=False
                )
                for _, future in batch:
                    try:
                        # No per-read timer: the batch has one (math.inf is redis-py's "none").
                        reply = await connection.read_response(timeout=math.inf)
                    except ResponseError as refused:  # an error reply: its caller's alone
                        if not future.done():
                            future.set_exception(refused)
                    else:
                        if not future.done():
                            future.set_result(reply)
                    answered += 1
        except BaseException as exc:
            await self._drop_connection()
            if isinstance(exc, TimeoutError):
                error: Exception = RedisTimeoutError(f"Redis did not answer within {self._timeout} s")
            elif isinstance(exc, Exception):
                error = exc if isinstance(exc, RedisConnectionError) else RedisConnectionError(str(exc))
            else:
                error = RedisConnectionError("cancelled")
            for _, future in batch[answered:]:
                if not future.done():
                    future.set_exception(error)
            if not isinstance(exc, Exception):
                raise

    async def _drop_connection(self) -> None:
        """The connection cannot be trusted to be in step with its replies any more."""
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.disconnect(nowait=True)
            await self._pool.release(connection)

    async def aclose(self) -> None:
        if self._sending is not None:
            await asyncio.gather(self._sending, return_exceptions=True)
        await self._drop_connection()
        await self._pool.aclose()
