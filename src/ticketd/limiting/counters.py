"""Counting hits against policies: in this process's memory (`LocalCounters`), or in Redis shared by
every process on every host (`SharedCounters`, in shared_counters.py).

A count is answered at once where it can be (in memory) and as an awaitable where it cannot (in
Redis): `hit` returns a Hit or something to await for one. The polled paths pay for every
coroutine, about half a microsecond each, so the in-memory default makes none.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Awaitable
from typing import NamedTuple

from ticketd.limiting.policies import Policy

# How often the windows that ended are dropped from memory, so keys never seen again do not stay.
SWEEP_EVERY_SECONDS = 5.0


class Hit(NamedTuple):
    allowed: bool
    remaining: int
    # Seconds until the quota is restored.
    reset: int


def make_hit(count: int, quota: int, reset: int) -> Hit:
    """The hit that the `count`th request of a window with `reset` seconds left makes.

    tuple.__new__ rather than Hit(...): a named tuple's constructor is a Python function (half the
    cost of a whole count in memory, twice a polled request)."""
    return tuple.__new__(
        Hit, (count <= quota, quota - count if count < quota else 0, reset if reset > 1 else 1)
    )


class Counters(ABC):
    """Counts hits against policies; the same methods whatever the storage."""

    @abstractmethod
    def hit(self, policy: Policy, *identifiers: str) -> Hit | Awaitable[Hit]:
        """Counts one hit: the Hit, or an awaitable of it where the count must wait (Redis)."""

    @abstractmethod
    async def blocked_for(self, key: str) -> int:
        """Seconds left of a block set with `block`, or 0."""

    @abstractmethod
    async def block(self, key: str, seconds: int) -> None: ...

    @property
    def shared(self) -> bool:
        """Whether the counts are those of every process (Redis answering)."""
        return False

    async def check(self) -> str | None:
        """None when the counters can be used, else what is wrong."""
        return None

    async def aclose(self) -> None:
        """Closes connections; call on the event loop the counters were used on."""
        return None


async def counted(counters: Counters, policy: Policy, *identifiers: str) -> Hit:
    """`counters.hit`, awaited where it has to be."""
    hit = counters.hit(policy, *identifiers)
    return hit if isinstance(hit, Hit) else await hit


class LocalCounters(Counters):
    """In this process's memory: the embedded default, and every process's fallback while Redis is
    away.

    Fixed windows are a dictionary of [count, end] a key; rolling windows a deque of the hits'
    times a key (the moving window: a hit is allowed while fewer than the quota fell in the last
    window). Every call comes from the event loop's thread, so no lock is needed. (The `limits`
    library's memory storage takes a lock and four layers of wrappers an increment, which measured
    3 µs of the 7 µs two counts cost a status lookup, and starts a timer thread every 10 ms while
    counters are in use, which cost the event loop 12 µs a request: the counting here is small
    enough to own.)
    """

    def __init__(self) -> None:
        self._windows: dict[str, list[float]] = {}
        self._rolling: dict[str, tuple[int, deque[float]]] = {}
        self._next_sweep = time.time() + SWEEP_EVERY_SECONDS

    def hit(self, policy: Policy, *identifiers: str) -> Hit:
        now = time.time()
        key = policy.key_memo.get(identifiers) or policy.key_for(identifiers)  # the memo, without a call
        if policy.rolling:
            return self._rolling_hit(policy, key, now)
        entry = self._windows.get(key)
        if entry is None or entry[1] <= now:
            entry = self._new_window(key, policy.window, now)
        entry[0] += 1
        return make_hit(int(entry[0]), policy.quota, int(entry[1] - now + 0.5))  # to the nearest second

    def _new_window(self, key: str, window: int, now: float) -> list[float]:
        if now >= self._next_sweep:
            self._sweep(now)
        entry = self._windows[key] = [0, now + window]
        return entry

    def _rolling_hit(self, policy: Policy, key: str, now: float) -> Hit:
        window = policy.window
        found = self._rolling.get(key)
        if found is None:
            if now >= self._next_sweep:
                self._sweep(now)
            found = self._rolling[key] = (window, deque())
        hits = found[1]
        while hits and hits[0] <= now - window:
            hits.popleft()
        allowed = len(hits) < policy.quota
        if allowed:
            hits.append(now)
        reset = round(hits[0] + window - now) if hits else window
        return Hit(allowed, policy.quota - len(hits), max(1, reset))

    def _sweep(self, now: float) -> None:
        """Drops the windows that have ended, so keys never seen again do not stay."""
        self._next_sweep = now + SWEEP_EVERY_SECONDS
        for key in [key for key, (_, end) in self._windows.items() if end <= now]:
            del self._windows[key]
        for key in [
            key for key, (window, hits) in self._rolling.items() if not hits or hits[-1] <= now - window
        ]:
            del self._rolling[key]

    async def blocked_for(self, key: str) -> int:
        entry = self._windows.get(key)
        now = time.time()
        if entry is None or entry[1] <= now or entry[0] <= 0:
            return 0
        return max(1, round(entry[1] - now))

    async def block(self, key: str, seconds: int) -> None:
        now = time.time()
        entry = self._windows.get(key)
        if entry is None or entry[1] <= now:
            entry = self._new_window(key, seconds, now)
        entry[0] += 1
