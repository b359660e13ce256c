"""How many event streams a process holds open: in all, per credential and per client address.

A slot is taken in one step, with no await between looking at the counts and raising them, so
concurrent requests cannot overshoot a cap; it is given back exactly once, however the stream ends
(finished, cancelled, or never started and collected).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ticketd.core.errors import RateLimited, Unavailable

RETRY_SECONDS = 5


@dataclass(frozen=True)
class StreamCaps:
    total: int
    per_credential: int
    per_address: int


class StreamSlot:
    def __init__(self, slots: StreamSlots, credential: str, address: str) -> None:
        self._slots = slots
        self.credential = credential
        self.address = address
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._slots._give_back(self)


class StreamSlots:
    """One per process. Counts live on the event loop's thread only, so plain counters suffice."""

    def __init__(self, caps: StreamCaps) -> None:
        self.caps = caps
        self.open = 0
        self._by_credential: Counter[str] = Counter()
        self._by_address: Counter[str] = Counter()

    def take(self, credential: str, address: str) -> StreamSlot:
        """A slot, or RateLimited (429) when this caller holds its share, or Unavailable (503) when
        the process holds as many streams as it may."""
        for counts, key, cap, kind in (
            (self._by_credential, credential, self.caps.per_credential, "credential"),
            (self._by_address, address, self.caps.per_address, "address"),
        ):
            if counts[key] >= cap:
                raise RateLimited(
                    f"this {kind} already holds {cap} open event streams; close one or retry shortly",
                    RETRY_SECONDS,
                    violated=(f"event-streams-per-{kind}",),
                )
        if self.open >= self.caps.total:
            raise Unavailable("too many event streams are open on this server; retry shortly", RETRY_SECONDS)
        self.open += 1
        self._by_credential[credential] += 1
        self._by_address[address] += 1
        return StreamSlot(self, credential, address)

    def held_by(self, credential: str) -> int:
        return self._by_credential[credential]

    def _give_back(self, slot: StreamSlot) -> None:
        self.open -= 1
        for counts, key in ((self._by_credential, slot.credential), (self._by_address, slot.address)):
            counts[key] -= 1
            if counts[key] <= 0:
                del counts[key]
