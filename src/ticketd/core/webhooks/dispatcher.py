"""The delivering loop: fan-out, claims, attempts and their records, in one thread of its own.

It runs where operations run (a thread of the server on the embedded default, of every `ticketd
worker` at scale), beside the operations' loop so that a long import never delays a message.
Attempts are asyncio tasks, so a hundred slow endpoints cost a hundred sockets, not a hundred
threads; the store is used from one helper thread, with outcomes recorded in batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial
from typing import ParamSpec, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from ticketd.core.signing_keys import Sealer
from ticketd.core.webhooks import deliveries
from ticketd.core.webhooks.deliveries import Claimed, Outcome, Policy
from ticketd.core.webhooks.fanout import fan_out, news_for_fan_out
from ticketd.core.webhooks.sender import Sender
from ticketd.settings import Settings
from ticketd.store.engine import unit_of_work
from ticketd.telemetry.metrics import WEBHOOK_ATTEMPTS, WEBHOOK_LATENCY

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")
FAN_OUT_BATCH = 500


class WebhookDispatcher:
    def __init__(
        self, sessions: sessionmaker[Session], settings: Settings, server_keys: tuple[str, ...], name: str
    ) -> None:
        self.sessions = sessions
        self.name = name
        self.sealer = Sealer(server_keys[-1], older=server_keys[:-1])
        self.policy = Policy(
            retry_delays=settings.webhook_retry_delays or (0.0,),
            disable_after=timedelta(seconds=settings.webhook_disable_after_seconds),
            lease=timedelta(seconds=settings.webhook_lease_seconds),
        )
        self.first_delay = timedelta(seconds=self.policy.retry_delays[0])
        self.capacity = max(1, settings.webhook_concurrency)
        self.poll_seconds = settings.events_poll_seconds
        self.sender = Sender(
            timeout=settings.webhook_timeout_seconds, allow_private=settings.webhook_allow_private
        )
        self._inflight: dict[str, int] = defaultdict(int)
        self._outcomes: list[Outcome] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._store = ThreadPoolExecutor(1, thread_name_prefix="ticketd-webhooks-store")

    def run_forever(self, stop: threading.Event) -> None:
        asyncio.run(self._run(stop))

    async def _run(self, stop: threading.Event) -> None:
        self._wake = asyncio.Event()
        last_cleanup = time.monotonic()
        try:
            while not stop.is_set():
                try:
                    busy = await self._turn()
                except Exception:
                    log.exception("webhooks %s: unexpected error", self.name)
                    busy = False
                    await asyncio.sleep(1)
                if time.monotonic() - last_cleanup > 60:
                    last_cleanup = time.monotonic()
                    await self.sender.close_idle()
                if not busy:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            # Stopping: let attempts out finish (they are short on a healthy endpoint) and record them.
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=5)
            await self._record()
        finally:
            await self.sender.aclose()
            self._store.shutdown(wait=False)

    async def _turn(self) -> bool:
        """One round; True when there may be more to do at once."""
        recorded = await self._record()
        fanned = await self._in_store(self._fan_out)
        free = {endpoint: self.capacity - count for endpoint, count in self._inflight.items()}
        claimed = await self._in_store(self._claim, free)
        for item in claimed:
            self._inflight[item.endpoint_id] += 1
            task = asyncio.create_task(self._attempt(item))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return bool(recorded or fanned >= FAN_OUT_BATCH or claimed)

    async def _attempt(self, claimed: Claimed) -> None:
        try:
            outcome = await self.sender.send(claimed)
        finally:
            self._inflight[claimed.endpoint_id] -= 1
            if self._inflight[claimed.endpoint_id] <= 0:
                del self._inflight[claimed.endpoint_id]
        WEBHOOK_ATTEMPTS.labels("succeeded" if outcome.succeeded else "failed").inc()
        WEBHOOK_LATENCY.observe(outcome.latency_ms / 1000)
        self._outcomes.append(outcome)
        self._wake.set()

    async def _record(self) -> int:
        if not self._outcomes:
            return 0
        batch, self._outcomes = self._outcomes, []
        try:
            await self._in_store(self._record_batch, batch)
        except Exception:
            # Not recorded: the leases run out and the attempts are made again (at least once).
            log.exception("webhooks %s: could not record %d attempts", self.name, len(batch))
            return 0
        return len(batch)

    async def _in_store(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._store, partial(function, *args, **kwargs))

    def _fan_out(self) -> int:
        # Most turns find nothing new: a read says so without taking SQLite's write lock.
        with unit_of_work(self.sessions, write=False) as db:
            if not news_for_fan_out(db):
                return 0
        with unit_of_work(self.sessions, write=True) as db:
            count = fan_out(db, first_delay=self.first_delay, limit=FAN_OUT_BATCH)
            db.commit()
            return count

    def _claim(self, free: dict[str, int]) -> list[Claimed]:
        with unit_of_work(self.sessions, write=False) as db:
            if not deliveries.any_due(db):
                return []
        with unit_of_work(self.sessions, write=True) as db:
            claimed = deliveries.claim(
                db, self.sealer, owner=self.name, lease=self.policy.lease, free=free, capacity=self.capacity
            )
            db.commit()
            return claimed

    def _record_batch(self, batch: list[Outcome]) -> None:
        with unit_of_work(self.sessions, write=True) as db:
            disabled = deliveries.record(db, owner=self.name, outcomes=batch, policy=self.policy)
            db.commit()
        for endpoint_id in disabled:
            log.warning("webhooks %s: endpoint %s disabled", self.name, endpoint_id)
