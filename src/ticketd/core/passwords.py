"""Password hashing with argon2id. Only logins pay for it; requests use keys or tokens."""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ticketd.core.errors import Unavailable

# OWASP's argon2id recommendation (19 MiB, 2 passes, 1 lane) rather than the library's 64 MiB
# profile: a login then costs ~20 ms and 19 MiB, so concurrent logins cannot blow up the server's
# memory, and hashes stay far beyond what offline guessing can afford.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


@cache
def _dummy_hash() -> str:
    # Verified against when the user does not exist, so a login takes as long either way.
    return _hasher.hash("not a password of anyone")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


class PasswordChecks:
    """Password checks on threads of their own, at the lowest CPU priority, a bounded number at once.

    A check costs ~20 ms of CPU. Run on the request threads at normal priority, a flood of logins took
    the CPU from the event loop that answers status lookups. Here at most `threads` hashes run at
    once, at idle priority, so the scheduler gives the event loop nearly all the CPU it asks for;
    at most `waiting` more wait, for at most `wait_seconds`; a login beyond that is refused at once
    (Unavailable: the face answers 503 or 429) instead of queueing without end.
    """

    def __init__(self, *, threads: int = 2, waiting: int = 32, wait_seconds: float = 2.0) -> None:
        self._slots = threading.BoundedSemaphore(threads + waiting)
        self._threads = threads
        self._wait_seconds = wait_seconds
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ThreadPoolExecutor:
        # Started on first use, not when the object is made (nothing runs at import or build).
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    self._threads, thread_name_prefix="ticketd-password", initializer=_lowest_priority
                )
            return self._pool

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Blocks the calling thread (never the event loop's) until the check is done."""
        if not self._slots.acquire(timeout=self._wait_seconds):
            raise Unavailable("too many sign-ins at once; try again in a moment")
        try:
            return self._executor().submit(verify_password, password_hash, password).result()
        finally:
            self._slots.release()


def _lowest_priority() -> None:
    # Linux schedules threads on their own, by thread id. SCHED_IDLE runs a thread only on CPU time
    # no normal thread wants (weight 3, against nice 19's 15 and the event loop's 1024); nice 19
    # where that policy is not allowed.
    thread = threading.get_native_id()
    try:
        os.sched_setscheduler(thread, os.SCHED_IDLE, os.sched_param(0))
    except (OSError, AttributeError):
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, thread, 19)


# The process's checks: every face's logins share one bound.
CHECKS = PasswordChecks()
