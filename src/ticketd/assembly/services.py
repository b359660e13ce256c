"""The services a running app shares, built once from the settings."""

from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from ticketd.core.authenticate import Authenticator
from ticketd.core.server_key import LEGACY_NAME, retire_stored_key, server_key
from ticketd.limiting.admission import Admission
from ticketd.limiting.config import TenantLimitsCache
from ticketd.limiting.counters import Counters, LocalCounters, SharedCounters
from ticketd.limiting.logins import LoginGuard
from ticketd.settings import Settings
from ticketd.store.engine import build_engine, session_factory, unit_of_work
from ticketd.store.fast_reads import FastReader
from ticketd.store.tables import ServerSecret
from ticketd.web.services import Services

log = logging.getLogger(__name__)


def build_services(settings: Settings) -> Services:
    engine = build_engine(settings)
    sessions = session_factory(engine)
    token_secret = server_key(settings)
    retire_key_from_store(sessions, token_secret)
    reader = FastReader(settings)
    admission = build_admission(settings, sessions)
    return Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        reader=reader,
        token_secret=token_secret,
        authenticator=Authenticator(reader, token_secret),
        admission=admission,
        login_guard=LoginGuard(admission.counters if admission is not None else LocalCounters()),
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


def retire_key_from_store(sessions: sessionmaker[Session], key: str) -> None:
    """A store from before is moved off the key it kept (core/server_key.py). A store that does not
    answer now is not: the server starts and answers 503 meanwhile, and the next start moves it."""
    try:
        with unit_of_work(sessions, write=False) as db:
            if db.get(ServerSecret, LEGACY_NAME) is None:
                return
        with unit_of_work(sessions, write=True) as db:
            retire_stored_key(db, key)
            db.commit()
    except DBAPIError:
        log.warning("the store did not answer; a key it may keep is moved off at the next start")
