"""The services a running app shares, built once from the settings."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from ticketd.core.authenticate import Authenticator
from ticketd.core.identity import TOKEN_SECRET_NAME, server_secret
from ticketd.limiting.admission import Admission
from ticketd.limiting.config import TenantLimitsCache
from ticketd.limiting.counters import Counters, LocalCounters, SharedCounters
from ticketd.limiting.logins import LoginGuard
from ticketd.settings import Settings
from ticketd.store.engine import build_engine, session_factory, unit_of_work
from ticketd.store.fast_reads import FastReader
from ticketd.web.services import Services


def build_services(settings: Settings) -> Services:
    engine = build_engine(settings)
    sessions = session_factory(engine)
    token_secret = settings.secret_key or load_token_secret(sessions)
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


def load_token_secret(sessions: sessionmaker[Session]) -> str:
    with unit_of_work(sessions, write=True) as db:
        secret = server_secret(db, TOKEN_SECRET_NAME)
        db.commit()
    return secret
