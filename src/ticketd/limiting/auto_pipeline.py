"""Every Redis command issued in one turn of the event loop, written in one round trip on one
connection, its replies read by hiredis' C parser.

Counting a request against its limits takes a command or two. Each sent through redis-py on its
own costs a trip through the pool, a write, a wakeup and a read in Python: about 38 µs of CPU
apiece here. Under load many requests are counted in the same turn of the event loop, so their
commands are queued and written together at the start of the next turn, and each caller's future
is resolved, in order, from the replies hiredis parses (auto-pipelining, as ioredis and
node-redis do). Measured in-process, 32 concurrent callers, two counts a request, client CPU:
77 µs through the `limits` library one command at a time, 22 µs through a redis-py pipeline a
turn, 18 µs through redis-py's connection a turn. In the server, a status lookup counted in Redis
took 64 µs of CPU with redis-py's connection a turn and 46 µs written as here.

Nothing about exactness changes: each command is still atomic in Redis, the batch is not a
transaction, and each reply goes to the caller that asked. A connection that fails or does not
answer within the timeout is closed and every command waiting on it fails (the caller fails open);
the next command connects again.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import hiredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

Waiting = deque[tuple[float, "asyncio.Future[Any]"]]


def pack(command: tuple[Any, ...]) -> bytes:
    """One command in RESP: an array of bulk strings."""
    parts = [b"*%d\r\n" % len(command)]
    for argument in command:
        if isinstance(argument, bytes):
            data = argument
        elif isinstance(argument, str):
            data = argument.encode()
        else:
            data = str(argument).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class _Replies(asyncio.Protocol):
    """Parses replies and hands each to the oldest waiting command."""

    def __init__(self, waiting: Waiting, on_lost: Any) -> None:
        self.reader = hiredis.Reader(replyError=ResponseError)
        self.waiting = waiting
        self.on_lost = on_lost
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio's, but have the same methods.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        reader = self.reader
        reader.feed(data)
        waiting = self.waiting
        while (reply := reader.gets()) is not False:
            if not waiting:  # a reply nobody asked for: the stream is out of step
                if self.transport is not None:
                    self.transport.close()
                return
            future = waiting.popleft()[1]
            if future.done():
                continue
            if isinstance(reply, ResponseError):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.on_lost(self)


def _usable(protocol: _Replies) -> bool:
    return protocol.transport is not None and not protocol.transport.is_closing()


class AutoPipeline:
    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "unix", "rediss"):
            raise ValueError(f"{url!r} is not a redis:// URL")
        self._scheme = parts.scheme
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 6379
        self._path = unquote(parts.path) if parts.scheme == "unix" else ""
        database = parts.path.lstrip("/") if parts.scheme != "unix" else ""
        self._hello: list[bytes] = []
        if parts.password is not None:
            user = (unquote(parts.username),) if parts.username else ()
            self._hello.append(pack(("AUTH", *user, unquote(parts.password))))
        if database and database != "0":
            self._hello.append(pack(("SELECT", database)))
        self._timeout = timeout
        self._waiting: Waiting = deque()
        self._queued: list[bytes] = []
        self._queued_futures: list[asyncio.Future[Any]] = []
        self._protocol: _Replies | None = None
        self._connecting: asyncio.Task[_Replies] | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def call(self, *command: Any) -> asyncio.Future[Any]:
        """Queue `command`; the future holds its reply (or its error)."""
        return self.call_packed(pack(command))

    def call_packed(self, command: bytes) -> asyncio.Future[Any]:
        """`call` with a command already in RESP (a caller that writes its own faster than `pack`)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._queued:
            loop.call_soon(self._flush)
        self._queued.append(command)
        self._queued_futures.append(future)
        return future

    def _flush(self) -> None:
        data, futures = b"".join(self._queued), self._queued_futures
        self._queued, self._queued_futures = [], []
        protocol = self._protocol
        if protocol is not None and _usable(protocol):
            self._write(protocol, data, futures)
            return
        task = asyncio.ensure_future(self._connect_and_write(data, futures))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _write(self, protocol: _Replies, data: bytes, futures: list[asyncio.Future[Any]]) -> None:
        assert protocol.transport is not None
        now = time.monotonic()
        self._waiting.extend((now, future) for future in futures)
        protocol.transport.write(data)
        if self._watchdog is None:
            self._watchdog = asyncio.get_running_loop().call_later(self._timeout, self._check_overdue)

    async def _connect_and_write(self, data: bytes, futures: list[asyncio.Future[Any]]) -> None:
        try:
            protocol = await self._connected()
            self._write(protocol, data, futures)
        except Exception as exc:
            error = RedisConnectionError(f"cannot connect to Redis: {type(exc).__name__}: {exc}")
            for future in futures:
                if not future.done():
                    future.set_exception(error)

    async def _connected(self) -> _Replies:
        """The connection, opened once however many batches ask for it at the same time."""
        if self._connecting is None or self._connecting.done():
            self._connecting = asyncio.ensure_future(self._open())
        return await asyncio.shield(self._connecting)

    async def _open(self) -> _Replies:
        loop = asyncio.get_running_loop()
        if self._protocol is not None and _usable(self._protocol):
            return self._protocol
        hello: Waiting = deque()

        def replies() -> _Replies:
            return _Replies(hello, self._lost)

        if self._scheme == "unix":
            opening = loop.create_unix_connection(replies, self._path)
        else:
            opening = loop.create_connection(replies, self._host, self._port, ssl=self._scheme == "rediss")
        _, protocol = await asyncio.wait_for(opening, self._timeout)
        if self._hello:
            answers = [loop.create_future() for _ in self._hello]
            hello.extend((0.0, answer) for answer in answers)
            assert protocol.transport is not None
            protocol.transport.write(b"".join(self._hello))
            try:
                await asyncio.wait_for(asyncio.gather(*answers), self._timeout)
            except BaseException:
                protocol.transport.close()
                raise
        protocol.waiting = self._waiting
        self._protocol = protocol
        return protocol

    def _lost(self, protocol: _Replies) -> None:
        if protocol is not self._protocol:
            return
        self._protocol = None
        self._fail_waiting(RedisConnectionError("the connection to Redis was lost"))

    def _check_overdue(self) -> None:
        self._watchdog = None
        if not self._waiting:
            return
        oldest = self._waiting[0][0]
        now = time.monotonic()
        if now - oldest >= self._timeout:
            # No reply in time: the connection cannot be trusted to be in step any more.
            protocol, self._protocol = self._protocol, None
            if protocol is not None and protocol.transport is not None:
                protocol.transport.close()
            self._fail_waiting(RedisTimeoutError(f"Redis did not answer within {self._timeout} s"))
            return
        self._watchdog = asyncio.get_running_loop().call_later(
            self._timeout - (now - oldest), self._check_overdue
        )

    def _fail_waiting(self, error: Exception) -> None:
        waiting, self._waiting = self._waiting, deque()
        for _, future in waiting:
            if not future.done():
                future.set_exception(error)

    async def aclose(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        protocol, self._protocol = self._protocol, None
        if protocol is not None and protocol.transport is not None:
            protocol.transport.close()
            await asyncio.sleep(0)  # lets the transport finish closing on this loop
        self._fail_waiting(RedisConnectionError("closed"))
