"""Mail's work kept to a share of the processor in a process that also answers status lookups (the
embedded server): after each round, the thread that did it rests in proportion to the processor time
the round took (its own thread's time, not the wall clock), so that mail never takes more than its
share from the polled path. A `ticketd worker` answers no lookups and is not paced (a share of 1)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# The longest rest after one round: a long round is paid for over several rests, not one.
MAX_REST_SECONDS = 2.0


class Pacer:
    def __init__(self, share: float, rest: Callable[[threading.Event, float], object] | None = None) -> None:
        if not 0 < share <= 1:
            raise ValueError("a share of the processor is above 0 and at most 1")
        self.share = share
        self._rest = rest or threading.Event.wait

    @contextmanager
    def round(self, stop: threading.Event | None = None) -> Iterator[None]:
        """Times the block's own processor time, then rests: share 0.25 rests three times as long."""
        started = time.thread_time()
        yield
        if self.share >= 1:
            return
        rest = min(MAX_REST_SECONDS, (time.thread_time() - started) * (1 / self.share - 1))
        if rest > 0:
            self._rest(stop or threading.Event(), rest)
