"""The delivering loop: fan-out, claims, attempts and their records, in one thread of its own.

It runs where operations run (a thread of the server on the embedded default, of every `ticketd
worker` at scale), beside the operations' loop so that a long import never delays a message.
Attempts are asyncio tasks, so a hundred slow endpoints cost a hundred sockets, not a hundred
threads; the store is used from one helper thread, with outcomes recorded in batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import ParamSpec, TypeVar

import uvloop
from sqlalchemy.orm import Session, sessionmaker

from ticketd.core.signing_keys import keyring_sealer
from ticketd.core.webhooks import deliveries
from ticketd.core.webhooks.deliveries import Claimed, Outcome, Policy
from ticketd.core.webhooks.fanout import fan_out, news_for_fan_out
from ticketd.core.webhooks.sender import Sender
from ticketd.settings import Settings
from ticketd.store.commit_signal import CommitSignal
from ticketd.store.engine import unit_of_work
from ticketd.telemetry.metrics import WEBHOOK_ATTEMPTS, WEBHOOK_LATENCY

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")
FAN_OUT_BATCH = 500
WAVES = 4
# The least time between two rounds that found work: each round costs a score of queries, so a
# round a few milliseconds would spend more on them than on the deliveries (measured: 5 ms a round
# for 9 changes, at 300 changes a second). What arrives meanwhile waits at most this long.
ROUND_SECONDS = 0.05
# With nothing committed since, an idle round reads the store at most this often (or as often as
# the shortest retry delay, if shorter): retries and expired leases fall due with time alone.
IDLE_RECHECK_SECONDS = 1.0


class Turn(enum.Enum):
    IDLE = "nothing to do"
    WORKED = "some work, all of it done in the round"
    FULL = "more waiting than one round takes"


class WebhookDispatcher:
    def __init__(
        self, sessions: sessionmaker[Session], settings: Settings, server_keys: tuple[str, ...], name: str
    ) -> None:
        self.sessions = sessions
        self.name = name
        self.sealer = keyring_sealer(server_keys)
        # Attempts at once per endpoint; up to WAVES times as many are claimed and wait their turn,
        # so a round trip to the store refills many (their lease covers the waiting: WAVES timeouts).
        self.policy = Policy(
            retry_delays=settings.webhook_retry_delays or (0.0,),
            disable_after=timedelta(seconds=settings.webhook_disable_after_seconds),
            lease=timedelta(
                seconds=settings.webhook_lease_seconds + WAVES * settings.webhook_timeout_seconds
            ),
        )
        self.first_delay = timedelta(seconds=self.policy.retry_delays[0])
        self.concurrency = max(1, settings.webhook_concurrency)
        self.capacity = self.concurrency * WAVES
        self._slots: dict[str, asyncio.Semaphore] = {}
        self.poll_seconds = settings.events_poll_seconds
        self.sender = Sender(
            timeout=settings.webhook_timeout_seconds,
            allow_private=settings.webhook_allow_private,
            concurrency=max(1, settings.webhook_concurrency),
        )
        self._inflight: dict[str, int] = defaultdict(int)
        self._outcomes: list[Outcome] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._store = ThreadPoolExecutor(1, thread_name_prefix="ticketd-webhooks-store")
        # Idle rounds read the store only after a commit, or as often as a retry can fall due.
        recheck = min([IDLE_RECHECK_SECONDS, *(delay for delay in self.policy.retry_delays if delay > 0)])
        self._commits = CommitSignal(settings.sqlite_path, recheck)

    def run_forever(self, stop: threading.Event) -> None:
        # uvloop, as the server's own loop: a delivery's socket work costs less CPU on it.
        uvloop.run(self._run(stop))

    async def _run(self, stop: threading.Event) -> None:
        self._wake = asyncio.Event()
        last_cleanup = time.monotonic()
        try:
            while not stop.is_set():
                try:
                    turn = await self._turn()
                except Exception:
                    log.exception("webhooks %s: unexpected error", self.name)
                    turn = Turn.IDLE
                    await asyncio.sleep(1)
                if time.monotonic() - last_cleanup > 60:
                    last_cleanup = time.monotonic()
                    await self.sender.close_idle()
                if turn is not Turn.FULL:
                    # Rounds that found something come back after ROUND_SECONDS, with what
                    # gathered meanwhile, unless slots free up first; idle ones after the poll.
                    self._wake.clear()
                    pause = ROUND_SECONDS if turn is Turn.WORKED else self.poll_seconds
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), pause)
            # Stopping: let attempts out finish (they are short on a healthy endpoint) and record them.
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=5)
            await self._record()
        finally:
            await self.sender.aclose()
            self._store.shutdown(wait=False)

    async def _turn(self) -> Turn:
        """One round, one trip to the store: record what came back, fan out, claim what is due."""
        batch, self._outcomes = self._outcomes, []
        free = {endpoint: self.capacity - count for endpoint, count in self._inflight.items()}
        try:
            fanned, claimed = await self._in_store(self._store_turn, batch, free)
        except Exception:
            if batch:
                # Recorded one by one instead, so that one record the store refuses spoils none of
                # the others; what still cannot be recorded waits for the next round (the leases
                # hold meanwhile: nothing is sent twice for a round that failed).
                log.warning(
                    "webhooks %s: a round failed; recording its %d attempts one by one",
                    self.name,
                    len(batch),
                    exc_info=True,
                )
                self._outcomes[:0] = await self._in_store(self._record_each, batch)
            raise
        for item in claimed:
            self._inflight[item.endpoint_id] += 1
            task = asyncio.create_task(self._attempt(item))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if fanned >= FAN_OUT_BATCH or len(claimed) >= deliveries.CLAIM_LIMIT:
            return Turn.FULL
        return Turn.WORKED if claimed or batch else Turn.IDLE

    async def _attempt(self, claimed: Claimed) -> None:
        endpoint_id = claimed.endpoint_id
        slots = self._slots.get(endpoint_id)
        if slots is None:
            slots = self._slots[endpoint_id] = asyncio.Semaphore(self.concurrency)
        try:
            async with slots:
                outcome = await self.sender.send(claimed)
        finally:
            self._inflight[endpoint_id] -= 1
            left = self._inflight[endpoint_id]
            if left <= 0:
                del self._inflight[endpoint_id]
                self._slots.pop(endpoint_id, None)
        WEBHOOK_ATTEMPTS.labels("succeeded" if outcome.succeeded else "failed").inc()
        WEBHOOK_LATENCY.observe(outcome.latency_ms / 1000)
        self._outcomes.append(outcome)
        # Another round at once when an endpoint that had more than half its slots claimed is down
        # to half: outcomes are recorded and slots refilled in batches, not a store trip an attempt.
        if left == self.capacity // 2:
            self._wake.set()

    async def _record(self) -> None:
        """The outcomes still unrecorded, when stopping."""
        if self._outcomes:
            batch, self._outcomes = self._outcomes, []
            with contextlib.suppress(Exception):
                await self._in_store(self._store_turn, batch, None)

    async def _in_store(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._store, partial(function, *args, **kwargs))

    def _record_each(self, batch: list[Outcome]) -> list[Outcome]:
        """Records each outcome in a transaction of its own; returns those the store refused."""
        refused: list[Outcome] = []
        for outcome in batch:
            # Then without what the receiver sent, should that be what the store refuses.
            bare = replace(outcome, response="", error="the receiver's reply could not be recorded")
            if not (self._record_alone(outcome) or self._record_alone(bare)):
                refused.append(outcome)
        return refused

    def _record_alone(self, outcome: Outcome) -> bool:
        try:
            with unit_of_work(self.sessions, write=True) as db:
                deliveries.record(db, owner=self.name, outcomes=[outcome], policy=self.policy)
                db.commit()
        except Exception:
            log.warning(
                "webhooks %s: could not record an attempt of delivery %d",
                self.name,
                outcome.delivery_id,
                exc_info=True,
            )
            return False
        return True

    def _store_turn(self, batch: list[Outcome], free: dict[str, int] | None) -> tuple[int, list[Claimed]]:
        """Records `batch`, fans out and (unless `free` is None) claims, in one transaction."""
        if not batch:
            if not self._commits.changed():
                return 0, []
            # Most rounds find nothing to do: a read says so without taking SQLite's write lock.
            with unit_of_work(self.sessions, write=False) as db:
                if not news_for_fan_out(db) and (free is None or not deliveries.any_due(db)):
                    return 0, []
        with unit_of_work(self.sessions, write=True) as db:
            disabled = (
                deliveries.record(db, owner=self.name, outcomes=batch, policy=self.policy) if batch else []
            )
            fanned = fan_out(db, first_delay=self.first_delay, limit=FAN_OUT_BATCH)
            claimed = (
                []
                if free is None
                else deliveries.claim(
                    db,
                    self.sealer,
                    owner=self.name,
                    lease=self.policy.lease,
                    free=free,
                    capacity=self.capacity,
                )
            )
            db.commit()
        for endpoint_id in disabled:
            log.warning("webhooks %s: endpoint %s disabled", self.name, endpoint_id)
        return fanned, claimed
