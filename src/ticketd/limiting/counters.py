"""Counting hits against policies: in this process's memory, or in Redis shared by every process
on every host.

Fixed windows: in memory a dictionary of counts and window ends; in Redis one script call that
counts and reads the window's end, so one round trip gives both the verdict and what the
`RateLimit` header needs. Rolling windows use the `limits` library's `MovingWindowRateLimiter`.

With Redis, a failing call does not fail the request: the process counts in its own memory for a
second, then tries Redis again (fail-open; see `SharedCounters`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, TypeVar

from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter as SharedMovingWindow
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from redis.exceptions import ResponseError

from ticketd.limiting.auto_pipeline import AutoPipeline
from ticketd.limiting.policies import Policy
from ticketd.telemetry.metrics import REDIS_FAIL_OPEN

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_SHARED_AFTER_SECONDS = 1.0


class Hit(NamedTuple):
    allowed: bool
    remaining: int
    # Seconds until the quota is restored.
    reset: int


_new_tuple = tuple.__new__


class ProcessMemoryStorage(MemoryStorage):
    """`limits`' memory storage, expiring old counters on the caller's thread.

    The library starts a timer thread every 10 ms while counters are in use, to drop expired
    ones. Under load that thread's start and its turns at the GIL cost the event loop about
    12 µs a request (measured in-process: 42 µs a status lookup with it, 30 µs without). Counters
    are already expired when read; the sweep for those never read again runs here, at most once
    every few seconds, from whichever call comes due.
    """

    SWEEP_EVERY_SECONDS = 5.0

    def __init__(self) -> None:
        super().__init__()
        self._next_sweep = time.monotonic() + self.SWEEP_EVERY_SECONDS

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the library's timer thread
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_EVERY_SECONDS
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


class Counters(ABC):
    """Counts hits against policies; the same methods whatever the storage."""

    @abstractmethod
    async def hit(self, policy: Policy, *identifiers: str) -> Hit: ...

    @abstractmethod
    async def blocked_for(self, key: str) -> int:
        """Seconds left of a block set with `block`, or 0."""

    @abstractmethod
    async def block(self, key: str, seconds: int) -> None: ...

    @property
    def shared(self) -> bool:
        """Whether the counts are those of every process (Redis answering)."""
        return False

    def hit_now(self, policy: Policy, *identifiers: str) -> Hit | None:
        """The hit counted without waiting, where the counters can (in memory); else None."""
        return None

    def hit_soon(self, policy: Policy, identifiers: tuple[str, ...]) -> asyncio.Future[Any] | None:
        """The hit sent on its way where the counters can (a fixed window in Redis): the future of
        the raw reply, for `hit_from` (or, if it fails, `hit_failed`); else None: await `hit`.
        The polled paths await the reply itself, not a stack of coroutines around it."""
        return None

    def hit_from(self, policy: Policy, reply: Any) -> Hit:
        """The hit a `hit_soon` reply tells."""
        raise NotImplementedError

    async def hit_failed(self, error: Exception, policy: Policy, identifiers: tuple[str, ...]) -> Hit:
        """The hit when a `hit_soon` reply failed."""
        raise error

    async def check(self) -> str | None:
        """None when the counters can be used, else what is wrong."""
        return None

    async def aclose(self) -> None:
        """Closes connections; call on the event loop the counters were used on."""
        return None


class StorageCounters(Counters):
    """The counting itself, over one `limits` storage's primitives."""

    async def hit(self, policy: Policy, *identifiers: str) -> Hit:
        if policy.rolling:
            return await self._rolling_hit(policy, identifiers)
        return await self._fixed_hit(policy, identifiers)

    async def blocked_for(self, key: str) -> int:
        if await self._get(key) <= 0:
            return 0
        return max(1, round(await self._expiry(key) - time.time()))

    async def block(self, key: str, seconds: int) -> None:
        await self._incr(key, seconds)

    @abstractmethod
    async def _incr(self, key: str, expiry: int) -> int: ...

    @abstractmethod
    async def _expiry(self, key: str) -> float: ...

    @abstractmethod
    async def _get(self, key: str) -> int: ...

    @abstractmethod
    async def _fixed_hit(self, policy: Policy, identifiers: tuple[str, ...]) -> Hit: ...

    @abstractmethod
    async def _rolling_hit(self, policy: Policy, identifiers: tuple[str, ...]) -> Hit: ...


class LocalCounters(StorageCounters):
    """In this process's memory: the embedded default.

    Fixed windows are a dictionary of [count, end] a key. Every call comes from the event loop's
    thread (the counters are async), so no lock is needed; `limits`' memory storage takes a lock
    and four layers of wrappers an increment, which measured 3 µs of the 7 µs two counts cost a
    status lookup. Rolling windows use `limits`' moving window as they are.
    """

    SWEEP_EVERY_SECONDS = 5.0

    def __init__(self) -> None:
        self.storage = ProcessMemoryStorage()
        self.moving = MovingWindowRateLimiter(self.storage)
        self._windows: dict[str, list[float]] = {}
        self._next_sweep = time.time() + self.SWEEP_EVERY_SECONDS

    def _count(self, key: str, window: int, now: float) -> list[float]:
        entry = self._windows.get(key)
        if entry is None or entry[1] <= now:
            if now >= self._next_sweep:
                self._sweep(now)
            entry = self._windows[key] = [0, now + window]
        entry[0] += 1
        return entry

    def _sweep(self, now: float) -> None:
        """Drops the windows that have ended, so keys never seen again do not stay."""
        self._next_sweep = now + self.SWEEP_EVERY_SECONDS
        for key in [key for key, (_, end) in self._windows.items() if end <= now]:
            del self._windows[key]

    def hit_now(self, policy: Policy, *identifiers: str) -> Hit | None:
        # The polled paths count twice a request: the window's entry updated here rather than
        # through `_count`, and the arithmetic without `max`/`round` calls.
        if policy.rolling:
            return None
        now = time.time()
        key = policy.key_memo.get(identifiers) or policy.key_for(identifiers)  # the memo, without a call
        entry = self._windows.get(key)
        if entry is None or entry[1] <= now:
            entry = self._count(key, policy.window, now)
        else:
            entry[0] += 1
        count, quota = entry[0], policy.quota
        reset = int(entry[1] - now + 0.5)  # to the nearest second
        # tuple.__new__ rather than Hit(...): a named tuple's constructor is a Python function (half
        # the cost of this whole count, twice a polled request).
        return _new_tuple(
            Hit, (count <= quota, quota - int(count) if count < quota else 0, reset if reset > 1 else 1)
        )

    async def _fixed_hit(self, policy: Policy, identifiers: tuple[str, ...]) -> Hit:
        hit = self.hit_now(policy, *identifiers)
        assert hit is not None  # a fixed window is always counted at once in memory
        return hit

    async def _incr(self, key: str, expiry: int) -> int:
        return int(self._count(key, expiry, time.time())[0])

    async def _expiry(self, key: str) -> float:
        entry = self._windows.get(key)
        return entry[1] if entry is not None else time.time()

    async def _get(self, key: str) -> int:
        entry = self._windows.get(key)
        return int(entry[0]) if entry is not None and entry[1] > time.time() else 0

    async def _rolling_hit(self, policy: Policy, identifiers: tuple[str, ...]) -> Hit:
        allowed = self.moving.hit(policy.item, *identifiers)
        stats = self.moving.get_window_stats(policy.item, *identifiers)
        return Hit(allowed, stats.remaining, max(1, round(stats.reset_time - time.time())))


# One round trip counts a hit and reads when its window ends: the count, then the milliseconds left.
# The window starts with the first hit (as `limits`' own script does).
COUNT_SCRIPT = """
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
if count == tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}
"""
# EVALSHA of the script, one key: the head of every count command (the key and arguments follow).
COUNT_SCRIPT_SHA = hashlib.sha1(COUNT_SCRIPT.encode()).hexdigest().encode()  # noqa: S324 - a script's name
COUNT_BY_SHA = b"*6\r\n$7\r\nEVALSHA\r\n$40\r\n%s\r\n$1\r\n1\r\n" % COUNT_SCRIPT_SHA
# Counter keys kept as bytes (the same few are counted on every request).
KEY_MEMO_LIMIT = 10_000


class RedisCounters(StorageCounters):
    """Fixed windows through one script call a hit, auto-pipelined with every other command of the
    same event-loop turn (see auto_pipeline.py); rolling windows through `limits` as they are."""

    def __init__(self, url: str, prefix: str, timeout: float) -> None:
        self.prefix = prefix
        # Imported here: only processes configured with Redis pay for the client (~6 MB).
        from redis.asyncio import ConnectionPool
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # redis-py retries a failed call with backoff by default; a rate limit must not hold a
        # request for that, so a failure is reported at once.
        no_retries = Retry(NoBackoff(), 0)
        self.pool = ConnectionPool.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=no_retries
        )
        self.storage = RedisStorage(
            f"async+{url}",
            implementation="redispy",
            key_prefix=prefix,
            wrap_exceptions=True,
            connection_pool=self.pool,  # type: ignore[arg-type]
            retry=no_retries,  # type: ignore[arg-type]
        )
        self.moving = SharedMovingWindow(self.storage)
        self.pipeline = AutoPipeline(url, timeout)
        self._keys: dict[str, bytes] = {}

    async def _fixed_hit(self, policy: Policy, identifiers: tuple[str, ...]) -> Hit:
        return self.hit_from(policy, await self._count(policy.key_for(identifiers), policy.window))

    def hit_soon(self, policy: Policy, identifiers: tuple[str, ...]) -> asyncio.Future[Any] | None:
        if policy.rolling:
            return None
        _, command = self._count_command(policy.key_for(identifiers), policy.window, 1)
        return self.pipeline.call_packed(command)

    def hit_from(self, policy: Policy, reply: Any) -> Hit:
        """The count script's reply: the count, then the milliseconds left of its window."""
        count, left_ms = int(reply[0]), int(reply[1])
        quota = policy.quota
        reset = (left_ms + 500) // 1000 if left_ms > 0 else policy.window  # to the nearest second
        remaining = quota - count if count < quota else 0
        return _new_tuple(Hit, (count <= quota, remaining, reset if reset > 1 else 1))

    async def hit_failed(self, error: Exception, policy: Policy, identifiers: tuple[str, ...]) -> Hit:
        if isinstance(error, ResponseError) and str(error).startswith("NOSCRIPT"):
            # Redis does not know the script: counted again the long way, which sends it whole.
            return await self._fixed_hit(policy, identifiers)
        raise error

    async def _count(self, key: str, expiry: int, amount: int = 1) -> tuple[int, int]:
        full_key, command = self._count_command(key, expiry, amount)
        try:
            count, left_ms = await self.pipeline.call_packed(command)
        except ResponseError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
            # Redis does not know the script (restarted, or its scripts flushed): sent whole once,
            # which has Redis keep it again.
            count, left_ms = await self.pipeline.call("EVAL", COUNT_SCRIPT, 1, full_key, expiry, amount)
        return int(count), int(left_ms)

    def _count_command(self, key: str, expiry: int, amount: int) -> tuple[bytes, bytes]:
        """The counter's full key and the command that counts it. By the script's SHA1 (EVALSHA):
        40 bytes a call instead of the script, which Redis would also hash on every EVAL; written
        out in RESP here (`pack` costs a Python loop over its arguments), the key's bytes kept."""
        full_key = self._keys.get(key)
        if full_key is None:
            if len(self._keys) >= KEY_MEMO_LIMIT:
                self._keys.clear()
            full_key = self._keys[key] = f"{self.prefix}:{key}".encode()
        window, by = b"%d" % expiry, b"%d" % amount
        command = b"%s$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
            COUNT_BY_SHA,
            len(full_key),
            full_key,
            len(window),
            window,
            len(by),
            by,
        )
        return full_key, command

    async def _incr(self, key: str, expiry: int) -> int:
        return (await self._count(key, expiry))[0]

    async def _expiry(self, key: str) -> float:
        left_ms = int(await self.pipeline.call("PTTL", f"{self.prefix}:{key}"))
        return time.time() + max(0, left_ms) / 1000

    async def _get(self, key: str) -> int:
        value = await self.pipeline.call("GET", f"{self.prefix}:{key}")
        return int(value) if value is not None else 0

    async def _rolling_hit(self, policy: Policy, identifiers: tuple[str, ...]) -> Hit:
        allowed = await self.moving.hit(policy.item, *identifiers)
        stats = await self.moving.get_window_stats(policy.item, *identifiers)
        return Hit(allowed, stats.remaining, max(1, round(stats.reset_time - time.time())))

    async def aclose(self) -> None:
        await self.pipeline.aclose()
        await self.pool.aclose()

    async def ping(self) -> None:
        if not await self.storage.check():
            raise ConnectionError("Redis did not answer PING")


class SharedCounters(Counters):
    """Redis, shared by every process; while it cannot be reached, this process's memory.

    Fail-open: a request is never refused or failed because Redis is away. Each process then
    limits on its own, so a lone process still protects itself, and one request a second tries
    Redis again; the first that succeeds puts every request back on the shared counters.
    """

    def __init__(self, url: str, prefix: str, timeout: float) -> None:
        super().__init__()
        self.redis = RedisCounters(url, prefix, timeout)
        self.local = LocalCounters()
        self._retry_at = 0.0
        self._down_since: float | None = None
        self._last_error = ""

    @property
    def shared(self) -> bool:
        return self._down_since is None

    async def hit(self, policy: Policy, *identifiers: str) -> Hit:
        return await self._counted(lambda counters: counters.hit(policy, *identifiers))

    def hit_soon(self, policy: Policy, identifiers: tuple[str, ...]) -> asyncio.Future[Any] | None:
        # Only while Redis answers: after a failure, `hit` decides when to try it again.
        if self._down_since is not None:
            return None
        return self.redis.hit_soon(policy, identifiers)

    def hit_from(self, policy: Policy, reply: Any) -> Hit:
        return self.redis.hit_from(policy, reply)

    async def hit_failed(self, error: Exception, policy: Policy, identifiers: tuple[str, ...]) -> Hit:
        """Counted again the long way by Redis (the script was unknown), else here (fail-open)."""
        try:
            return await self.redis.hit_failed(error, policy, identifiers)
        except Exception as exc:
            self._failed(exc)
        return await self.local.hit(policy, *identifiers)

    async def blocked_for(self, key: str) -> int:
        return await self._counted(lambda counters: counters.blocked_for(key))

    async def block(self, key: str, seconds: int) -> None:
        await self._counted(lambda counters: counters.block(key, seconds))

    async def _counted(self, count: Callable[[StorageCounters], Awaitable[T]]) -> T:
        """`count` in Redis when it may be tried and answers, else in this process's memory."""
        if self._try_shared():
            try:
                result = await count(self.redis)
            except Exception as exc:  # any failure of Redis: count locally (fail-open)
                self._failed(exc)
            else:
                self._succeeded()
                return result
        return await count(self.local)

    async def check(self) -> str | None:
        try:
            await self.redis.ping()
        except Exception as exc:
            self._failed(exc)
            return self._last_error
        self._succeeded()
        return None

    async def aclose(self) -> None:
        await self.redis.aclose()

    def _try_shared(self) -> bool:
        if self._down_since is None:
            return True
        now = time.monotonic()
        if now < self._retry_at:
            return False
        # This request probes Redis; the others carry on locally until it has answered.
        self._retry_at = now + RETRY_SHARED_AFTER_SECONDS
        return True

    def _failed(self, exc: Exception) -> None:
        self._last_error = f"{type(exc).__name__}: {exc}"[:200]
        self._retry_at = time.monotonic() + RETRY_SHARED_AFTER_SECONDS
        if self._down_since is None:
            self._down_since = time.monotonic()
            REDIS_FAIL_OPEN.set(1)
            log.warning(
                "rate limits: Redis cannot be reached (%s); counting in this process until it returns",
                self._last_error,
            )

    def _succeeded(self) -> None:
        if self._down_since is not None:
            log.warning(
                "rate limits: Redis answers again after %.1f s; counting there again",
                time.monotonic() - self._down_since,
            )
            self._down_since = None
            REDIS_FAIL_OPEN.set(0)
