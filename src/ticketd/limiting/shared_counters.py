"""Counts in Redis, shared by every process on every host; while Redis cannot be reached, in this
process's memory (fail-open).

Fixed windows: one script call counts a hit and reads when its window ends, so one round trip
gives both the verdict and what the `RateLimit` header needs. The call is sent by the script's SHA1
(EVALSHA) in the turn's batch (redis_batches.py); a Redis that does not know the script (restarted,
or its scripts flushed) answers NOSCRIPT, and that count goes through redis-py's own script support,
which loads the script and runs it. Rolling windows use the `limits` library's moving window on the
same connections.

Fail-open: a request is never refused or failed because Redis is away. Each process then limits on
its own, so a lone process still protects itself, and one request a second tries Redis again; the
first that succeeds puts every request back on the shared counters.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable
from typing import Any

import hiredis
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.exceptions import NoScriptError

from ticketd.limiting.counters import Counters, Hit, LocalCounters, make_hit
from ticketd.limiting.policies import Policy
from ticketd.limiting.redis_batches import RedisBatches
from ticketd.telemetry.metrics import REDIS_FAIL_OPEN

log = logging.getLogger(__name__)

RETRY_SHARED_AFTER_SECONDS = 1.0
# Counts a hit (by ARGV[2]) and reads when its window ends: the count, then the milliseconds left.
# The window starts with the first hit (as `limits`' own script does).
COUNT_SCRIPT = """
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
if count == tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}
"""
# The commands that count by one, kept by counter key: the same few are counted on every request,
# and packing a command in redis-py costs more than the rest of a count.
COMMANDS_LIMIT = 10_000


class SharedCounters(Counters):
    def __init__(self, url: str, prefix: str, timeout: float) -> None:
        # Imported here: only processes configured with Redis pay for the client (~6 MB).
        from redis.asyncio import ConnectionPool, Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self.prefix = prefix
        # redis-py retries a failed call with backoff by default; a rate limit must not hold a
        # request for that, so a failure is reported at once.
        no_retries = Retry(NoBackoff(), 0)
        self.pool = ConnectionPool.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=no_retries
        )
        self.client = Redis(connection_pool=self.pool)
        self.count_script = self.client.register_script(COUNT_SCRIPT)
        self.batches = RedisBatches(
            ConnectionPool.from_url(url, socket_connect_timeout=timeout, retry=no_retries), timeout
        )
        # The URL is only the kind of storage here: the connections are the pool's.
        storage = RedisStorage(
            "async+redis://", implementation="redispy", key_prefix=prefix, wrap_exceptions=True,
            connection_pool=self.pool,  # type: ignore[arg-type]
        )  # fmt: skip
        self.moving = MovingWindowRateLimiter(storage)
        self.local = LocalCounters()
        self._count_commands: dict[str, bytes] = {}
        self._retry_at = 0.0
        self._down_since: float | None = None
        self._last_error = ""

    @property
    def shared(self) -> bool:
        return self._down_since is None

    def hit(self, policy: Policy, *identifiers: str) -> Hit | Awaitable[Hit]:
        if self._down_since is not None and not self._try_shared():
            return self.local.hit(policy, *identifiers)
        return self._shared_hit(policy, identifiers)

    async def _shared_hit(self, policy: Policy, identifiers: tuple[str, ...]) -> Hit:
        try:
            if policy.rolling:
                hit = await self._rolling_hit(policy, identifiers)
            else:
                count, left_ms = await self._count_one(policy.key_for(identifiers), policy.window)
                reset = (left_ms + 500) // 1000 if left_ms > 0 else policy.window  # to the nearest second
                hit = make_hit(count, policy.quota, reset)
        except Exception as exc:  # any failure of Redis: counted here (fail-open)
            self._failed(exc)
            return self.local.hit(policy, *identifiers)
        if self._down_since is not None:
            self._succeeded()
        return hit

    async def _count_one(self, key: str, window: int) -> tuple[int, int]:
        """`_count` by one, its command packed once."""
        command = self._count_commands.get(key)
        if command is None:
            if len(self._count_commands) >= COMMANDS_LIMIT:
                self._count_commands.clear()
            command = self._count_commands[key] = self._count_command(key, window, 1)
        return await self._sent(command, key, window, 1)

    async def _count(self, key: str, window: int, amount: int = 1) -> tuple[int, int]:
        return await self._sent(self._count_command(key, window, amount), key, window, amount)

    async def _sent(self, command: bytes, key: str, window: int, amount: int) -> tuple[int, int]:
        """The count `command` sent in the turn's batch; by redis-py's script support if Redis
        does not know the script."""
        try:
            reply: Any = await self.batches.call_packed(command)
        except NoScriptError:
            reply = await self.count_script(keys=[f"{self.prefix}:{key}"], args=[window, amount])
        return int(reply[0]), int(reply[1])

    def _count_command(self, key: str, window: int, amount: int) -> bytes:
        """The count script called by its SHA1 (EVALSHA: 40 bytes a call, not the script)."""
        command: tuple[str | int, ...] = (
            "EVALSHA",
            self.count_script.sha,
            1,
            f"{self.prefix}:{key}",
            window,
            amount,
        )
        return bytes(hiredis.pack_command(command))  # type: ignore[arg-type]  # the stub's tuple is of one

    async def _rolling_hit(self, policy: Policy, identifiers: tuple[str, ...]) -> Hit:
        allowed = await self.moving.hit(policy.item, *identifiers)
        stats = await self.moving.get_window_stats(policy.item, *identifiers)
        return Hit(allowed, stats.remaining, max(1, round(stats.reset_time - time.time())))

    async def blocked_for(self, key: str) -> int:
        if not self._try_shared():
            return await self.local.blocked_for(key)
        try:
            full_key = f"{self.prefix}:{key}"
            count, left_ms = await self.client.get(full_key), await self.client.pttl(full_key)
        except Exception as exc:
            self._failed(exc)
            return await self.local.blocked_for(key)
        self._succeeded()
        if not count or int(count) <= 0:
            return 0
        return max(1, round(max(0, left_ms) / 1000))

    async def block(self, key: str, seconds: int) -> None:
        if not self._try_shared():
            await self.local.block(key, seconds)
            return
        try:
            await self._count(key, seconds)
        except Exception as exc:
            self._failed(exc)
            await self.local.block(key, seconds)
            return
        self._succeeded()

    async def check(self) -> str | None:
        try:
            if not await self.client.ping():
                raise ConnectionError("Redis did not answer PING")
        except Exception as exc:
            self._failed(exc)
            return self._last_error
        self._succeeded()
        return None

    async def aclose(self) -> None:
        await self.batches.aclose()
        await self.client.aclose()
        await self.pool.aclose()

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
