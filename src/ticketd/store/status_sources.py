"""Where a status lookup's rows come from: one interface, three sources.

- `DriverReads` (driver_reads.py): SQL on the driver, on either store.
- `SqliteMirrorSource`: the tickets' status fields from this process's StatusMirror
  (status_mirror.py); a credential's row from SQL, read again only once something has committed
  anywhere since it was read (the mirror's generation says when).
- `PostgresMirrorSource`: every row from this process's PostgresMirror (postgres_mirror.py), so no
  lookup waits on a round trip on the event loop.

A mirror that cannot serve its store raises MirrorOff; its user (fast_reads.FastReader) then
reads through `DriverReads` from then on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from ticketd.store.driver_reads import DriverReads
from ticketd.store.postgres_mirror import PostgresMirror
from ticketd.store.rows import KeyRow, SigningKeyRow, TicketStatusRow, UserRow
from ticketd.store.status_mirror import StatusMirror

# Bounded: cleared when full, so memory stays flat whatever key ids clients send.
CREDENTIALS_KEPT = 10_000

Credential = TypeVar("Credential", KeyRow, UserRow)
Parameter = TypeVar("Parameter", str, int)


class StatusSource(Protocol):
    def api_key(self, key_id: str) -> KeyRow | None: ...

    def user(self, user_id: int) -> UserRow | None: ...

    def signing_key(self, access_key: str) -> SigningKeyRow | None: ...

    def ticket_status(self, ticket_id: int) -> TicketStatusRow | None: ...

    def key_and_ticket(self, key_id: str, ticket_id: int) -> tuple[KeyRow | None, TicketStatusRow | None]: ...

    def user_and_ticket(
        self, user_id: int, ticket_id: int
    ) -> tuple[UserRow | None, TicketStatusRow | None]: ...

    def close(self) -> None: ...


class SqliteMirrorSource:
    def __init__(self, mirror: StatusMirror, driver: DriverReads) -> None:
        self.mirror = mirror
        self._driver = driver
        # Credential rows by (kind, id): the mirror's generation they were read in, and the row.
        self._credentials: dict[tuple[type, object], tuple[int, KeyRow | UserRow | None]] = {}

    def api_key(self, key_id: str) -> KeyRow | None:
        return self._driver.api_key(key_id)

    def user(self, user_id: int) -> UserRow | None:
        return self._driver.user(user_id)

    def signing_key(self, access_key: str) -> SigningKeyRow | None:
        return self._driver.signing_key(access_key)

    def ticket_status(self, ticket_id: int) -> TicketStatusRow | None:
        return self.mirror.lookup(ticket_id)[1]

    def key_and_ticket(self, key_id: str, ticket_id: int) -> tuple[KeyRow | None, TicketStatusRow | None]:
        generation, ticket = self.mirror.lookup(ticket_id)
        return self._credential_as_of(KeyRow, self._driver.api_key, key_id, generation), ticket

    def user_and_ticket(self, user_id: int, ticket_id: int) -> tuple[UserRow | None, TicketStatusRow | None]:
        generation, ticket = self.mirror.lookup(ticket_id)
        return self._credential_as_of(UserRow, self._driver.user, user_id, generation), ticket

    def _credential_as_of(
        self,
        kind: type[Credential],
        read: Callable[[Parameter], Credential | None],
        parameter: Parameter,
        generation: int,
    ) -> Credential | None:
        """A credential's row, read again only when the mirror's generation has moved since (that
        is, when something has committed since it was read)."""
        key = (kind, parameter)
        known = self._credentials.get(key)
        if known is not None and known[0] == generation:
            row: Credential | None = known[1]  # type: ignore[assignment]  # stored under its kind
            return row
        found = read(parameter)
        if len(self._credentials) >= CREDENTIALS_KEPT:
            self._credentials.clear()
        self._credentials[key] = (generation, found)
        return found

    def close(self) -> None:
        self.mirror.close()


class PostgresMirrorSource:
    """Everything from memory. A mirror that cannot vouch for itself raises MirrorUnavailable, a
    StoreError: answered as the store being away."""

    def __init__(self, mirror: PostgresMirror) -> None:
        self.mirror = mirror

    def api_key(self, key_id: str) -> KeyRow | None:
        return self.mirror.api_key(key_id)

    def user(self, user_id: int) -> UserRow | None:
        return self.mirror.user(user_id)

    def signing_key(self, access_key: str) -> SigningKeyRow | None:
        return self.mirror.signing_key(access_key)

    def ticket_status(self, ticket_id: int) -> TicketStatusRow | None:
        return self.mirror.ticket(ticket_id)

    def key_and_ticket(self, key_id: str, ticket_id: int) -> tuple[KeyRow | None, TicketStatusRow | None]:
        return self.mirror.api_key(key_id), self.mirror.ticket(ticket_id)

    def user_and_ticket(self, user_id: int, ticket_id: int) -> tuple[UserRow | None, TicketStatusRow | None]:
        return self.mirror.user(user_id), self.mirror.ticket(ticket_id)

    def close(self) -> None:
        self.mirror.close()
