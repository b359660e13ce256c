"""Is the store there, and if not, how is it failing: down, too slow, or answering nonsense.

Faces that distinguish these (Prioticket's 502, 503 and 504) read the outcome; health checks too.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from enum import StrEnum

from ticketd.settings import Settings
from ticketd.store.engine import libpq_arguments


class StoreState(StrEnum):
    OK = "ok"
    DOWN = "down"  # nothing there: refused, missing, cannot open
    TIMEOUT = "timeout"  # there, but no answer in time
    BAD_RESPONSE = "bad-response"  # answered, but not as a database does


@dataclass(frozen=True)
class Probe:
    state: StoreState
    milliseconds: float
    detail: str = ""


def probe_store(settings: Settings, timeout_seconds: float = 3.0) -> Probe:
    started = time.perf_counter()
    state, detail = (
        _sqlite(settings, timeout_seconds) if settings.is_sqlite else _postgres(settings, timeout_seconds)
    )
    return Probe(state, round((time.perf_counter() - started) * 1000, 3), detail)


def _sqlite(settings: Settings, timeout_seconds: float) -> tuple[StoreState, str]:
    path = settings.resolved_database_url.removeprefix("sqlite:///")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout_seconds) as connection:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        connection.close()
    except sqlite3.DatabaseError as exc:
        message = str(exc).lower()
        if "locked" in message or "busy" in message:
            return StoreState.TIMEOUT, "the database stayed locked"
        if "not a database" in message or "malformed" in message:
            return StoreState.BAD_RESPONSE, "the file is not a database"
        return StoreState.DOWN, "the database file cannot be opened"
    return StoreState.OK, ""


def _postgres(settings: Settings, timeout_seconds: float) -> tuple[StoreState, str]:
    import psycopg  # here: a process on SQLite never loads the PostgreSQL driver (~9 MB)

    try:
        arguments = {
            **libpq_arguments(settings),
            "connect_timeout": max(1, round(timeout_seconds)),
            "options": f"-c statement_timeout={int(timeout_seconds * 1000)}",
        }
        with psycopg.connect(**arguments) as connection:
            connection.execute("SELECT 1").fetchone()
    except psycopg.errors.QueryCanceled:
        return StoreState.TIMEOUT, "the database did not answer in time"
    except psycopg.OperationalError as exc:
        message = str(exc).lower()
        if "refused" in message or "no such file" in message or "could not translate" in message:
            return StoreState.DOWN, "the database refuses connections"
        if "timeout" in message or "timed out" in message:
            return StoreState.TIMEOUT, "the database did not answer in time"
        return StoreState.BAD_RESPONSE, "the database answered with something that is not its protocol"
    except psycopg.Error:
        return StoreState.BAD_RESPONSE, "the database answered with an error"
    return StoreState.OK, ""
