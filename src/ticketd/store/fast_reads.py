"""The reads on the hot path: credentials and tickets from the process's status source, operations
from the driver.

Status lookups are polled hard, so they read from memory where a mirror serves the store
(status_sources.py) and on the driver otherwise (driver_reads.py), never through the ORM. A mirror
that turns itself off (the tickets outgrow TICKETD_STATUS_MIRROR_MB, the store cannot be read by
it) hands over to the driver's reads at once, for good.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import Engine, event

from ticketd.settings import Settings
from ticketd.store.driver_reads import DriverReads
from ticketd.store.errors import STORE_ERRORS, MirrorOff
from ticketd.store.postgres_mirror import PostgresMirror
from ticketd.store.rows import KeyRow, OperationRow, SigningKeyRow, StoredTime, TicketStatusRow, UserRow
from ticketd.store.status_mirror import StatusMirror
from ticketd.store.status_sources import PostgresMirrorSource, SqliteMirrorSource, StatusSource
from ticketd.store.tables import from_epoch_micros

Found = TypeVar("Found")


class FastReader:
    def __init__(self, settings: Settings) -> None:
        self.driver = DriverReads(settings)
        self._sqlite = settings.is_sqlite
        self.source: StatusSource = self.driver
        if settings.status_mirror_mb > 0:
            max_bytes = settings.status_mirror_mb * 1_048_576
            self.source = (
                SqliteMirrorSource(StatusMirror(self.driver.sqlite_path, max_bytes), self.driver)
                if self._sqlite
                else PostgresMirrorSource(PostgresMirror(settings))
            )

    def _ask(self, read: Callable[[StatusSource], Found]) -> Found:
        try:
            return read(self.source)
        except MirrorOff:
            self.source.close()
            self.source = self.driver
            return read(self.driver)

    def follow(self, engine: Engine) -> None:
        """Tells the SQLite status mirror of every commit made through `engine` (this process's
        writes), so a lookup right after one reads what it wrote. (The PostgreSQL mirror hooks
        every session's commits itself.)"""
        source = self.source
        if isinstance(source, SqliteMirrorSource):
            mirror = source.mirror
            event.listen(engine, "commit", lambda _connection: mirror.committed())

    def warm(self) -> None:
        """Load the status mirror now (at server start) rather than on the first lookup."""
        source = self.source
        if isinstance(source, SqliteMirrorSource):
            source.mirror.warm()
        elif isinstance(source, PostgresMirrorSource):
            source.mirror.start()
        with contextlib.suppress(*STORE_ERRORS):  # a mirror that cannot serve is found out now
            self._ask(lambda source: source.ticket_status(0))

    @property
    def blocks(self) -> bool:
        """Whether reads not served from a mirror are a database round trip (not a local file)."""
        return not self._sqlite

    def api_key(self, key_id: str) -> KeyRow | None:
        return self._ask(lambda source: source.api_key(key_id))

    def user(self, user_id: int) -> UserRow | None:
        return self._ask(lambda source: source.user(user_id))

    def signing_key(self, access_key: str) -> SigningKeyRow | None:
        return self._ask(lambda source: source.signing_key(access_key))

    def ticket_status(self, ticket_id: int) -> TicketStatusRow | None:
        return self._ask(lambda source: source.ticket_status(ticket_id))

    def key_and_ticket(self, key_id: str, ticket_id: int) -> tuple[KeyRow | None, TicketStatusRow | None]:
        """The key (as `api_key`) and the ticket (as `ticket_status`), in one read."""
        return self._ask(lambda source: source.key_and_ticket(key_id, ticket_id))

    def user_and_ticket(self, user_id: int, ticket_id: int) -> tuple[UserRow | None, TicketStatusRow | None]:
        """The user (as `user`) and the ticket (as `ticket_status`), in one read."""
        return self._ask(lambda source: source.user_and_ticket(user_id, ticket_id))

    def operation(self, operation_id: int) -> OperationRow | None:
        return self.driver.operation(operation_id)

    def operation_children(self, operation_id: int) -> list[tuple[int, str]]:
        """Each child's id and status, in order."""
        return self.driver.operation_children(operation_id)

    def close(self) -> None:
        if self.source is not self.driver:
            self.source.close()
        self.driver.close()


def to_datetime(value: StoredTime | None) -> datetime | None:
    """Driver values for timestamps: SQLite hands back epoch microseconds, psycopg an aware datetime."""
    if value is None:
        return None
    if isinstance(value, int):
        return from_epoch_micros(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
