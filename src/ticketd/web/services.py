"""What a running app holds, shared by every face. The assembly builds it (assembly/services.py)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ticketd.core.authenticate import Authenticator
from ticketd.core.event_stream import EventTail
from ticketd.core.signing_keys import Sealer, keyring_sealer
from ticketd.core.stream_slots import StreamSlots
from ticketd.limiting.admission import Admission
from ticketd.limiting.logins import LoginGuard
from ticketd.settings import Settings
from ticketd.store.fast_reads import FastReader


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    reader: FastReader
    # The server's current key (core/server_key.py), and every key of its keyring, oldest first.
    token_secret: str
    server_keys: tuple[str, ...]
    authenticator: Authenticator
    # None when rate limits are off.
    admission: Admission | None
    # Failed sign-ins per account and source (on whether or not rate limits are).
    login_guard: LoginGuard
    # The event log's tail, shared by this process's event-stream subscribers.
    event_tail: EventTail
    # The event streams this process holds open, counted against their caps.
    stream_slots: StreamSlots

    def sealer(self) -> Sealer:
        """For secrets stored sealed (AK/SK pairs, webhook secrets): the server's keyring."""
        return keyring_sealer(self.server_keys)

    def close(self) -> None:
        self.reader.close()
        self.engine.dispose()
