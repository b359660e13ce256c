"""The services a running app shares, built once from the settings."""

from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from ticketd.core.authenticate import Authenticator
from ticketd.core.event_stream import EventTail
from ticketd.core.server_key import needs_settling, reseal_access_keys, retire_stored_key, server_keys
from ticketd.core.stream_slots import StreamCaps, StreamSlots
from ticketd.core.tokens import TokenKeys
from ticketd.limiting.admission import Admission
from ticketd.limiting.config import TenantLimitsCache
from ticketd.limiting.counters import Counters, LocalCounters
from ticketd.limiting.logins import LoginGuard
from ticketd.limiting.shared_counters import SharedCounters
from ticketd.settings import Settings
from ticketd.store.engine import build_engine, session_factory, unit_of_work
from ticketd.store.fast_reads import FastReader
from ticketd.web.services import Services

log = logging.getLogger(__name__)


def build_services(settings: Settings) -> Services:
    engine = build_engine(settings)
    sessions = session_factory(engine)
    keys = server_keys(settings)
    token_secret = keys[-1]
    settle_keys(sessions, keys)
    reader = FastReader(settings)
    reader.follow(engine)
    admission = build_admission(settings, sessions)
    return Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        reader=reader,
        token_secret=token_secret,
        server_keys=keys,
        authenticator=Authenticator(reader, TokenKeys(keys)),
        admission=admission,
        login_guard=LoginGuard(admission.counters if admission is not None else LocalCounters()),
        event_tail=EventTail(
            sessions,
            settings.events_poll_seconds,
            buffer_bytes=settings.events_buffer_bytes,
            replay_window=settings.events_replay_window,
        ),
        stream_slots=StreamSlots(
            StreamCaps(
                total=settings.events_max_streams,
                per_credential=settings.events_max_streams_per_credential,
                per_address=settings.events_max_streams_per_address,
            )
        ),
    )


def build_admission(settings: Settings, sessions: sessionmaker[Session]) -> Admission | None:
    if not settings.rate_limits:
        return None
    counters: Counters = (
        SharedCounters(settings.redis_url, settings.redis_prefix, settings.redis_timeout_seconds)
        if settings.redis_url
        else LocalCounters()
    )
    return Admission(counters, TenantLimitsCache(sessions, settings.limits_refresh_seconds))


def settle_keys(sessions: sessionmaker[Session], keys: tuple[str, ...]) -> None:
    """A store from before is moved off the key it kept, and access keys sealed under an older key of
    the keyring are sealed again under the current (core/server_key.py). A store that does not
    answer now is not: the server starts and answers 503 meanwhile, and the next start settles it."""
    try:
        # Usually nothing to do: one key, none kept in the store. Then no start takes the write lock.
        with unit_of_work(sessions, write=False) as db:
            if not needs_settling(db, keys):
                return
        with unit_of_work(sessions, write=True) as db:
            retire_stored_key(db, keys[-1])
            reseal_access_keys(db, keys)
            db.commit()
    except DBAPIError:
        log.warning("the store did not answer; a key it may keep is moved off at the next start")
