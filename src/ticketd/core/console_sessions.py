"""Console sign-ins: a random cookie value whose SHA-256 is stored with the user's credential
version, so that signing out, disabling the user or changing their password ends the session on
every process at once (each console request reads the row).

The CSRF token of a session is an HMAC of its cookie value under a key derived from the server
key: nothing more to store, and it cannot be computed without the cookie (which pages never show).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ticketd.core.clock import utcnow
from ticketd.core.principal import PERSON_SCOPES, Principal, Role
from ticketd.store.tables import ConsoleSession, Tenant, User

ALL_SCOPE_VALUES = frozenset(scope.value for scope in PERSON_SCOPES)


@dataclass(frozen=True)
class SignedIn:
    """Who a console request comes from: the principal every core call takes, and for the pages
    the user's name and tenant."""

    principal: Principal
    username: str
    display_name: str
    tenant_slug: str
    tenant_name: str


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def start(db: Session, user: User, *, lifetime: timedelta, now: datetime | None = None) -> str:
    """A new session for a user whose password was just checked; returns the cookie's value."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    db.add(
        ConsoleSession(
            digest=digest(token),
            tenant_id=user.tenant_id,
            user_id=user.id,
            credential_version=user.credential_version,
            created_at=now,
            expires_at=now + lifetime,
            ended_at=None,
        )
    )
    db.flush()
    return token


def signed_in(db: Session, token: str, *, now: datetime | None = None) -> SignedIn | None:
    """The session's user, or None when it is unknown, ended, expired, or its user was disabled
    or changed password since it began."""
    now = now or utcnow()
    row = db.execute(
        select(ConsoleSession, User, Tenant)
        .join(User, User.id == ConsoleSession.user_id)
        .join(Tenant, Tenant.id == ConsoleSession.tenant_id)
        .where(ConsoleSession.digest == digest(token))
    ).one_or_none()
    if row is None:
        return None
    session, user, tenant = row
    if (
        session.ended_at is not None
        or session.expires_at <= now
        or user.disabled
        or user.credential_version != session.credential_version
        or user.tenant_id != session.tenant_id
    ):
        return None
    principal = Principal(
        tenant_id=user.tenant_id,
        user_id=user.id,
        role=Role(user.role),
        scopes=ALL_SCOPE_VALUES,
        credential_id=f"console:{user.id}",
    )
    return SignedIn(principal, user.username, user.display_name, tenant.slug, tenant.name)


def end(db: Session, token: str, *, now: datetime | None = None) -> None:
    db.execute(
        update(ConsoleSession)
        .where(ConsoleSession.digest == digest(token), ConsoleSession.ended_at.is_(None))
        .values(ended_at=now or utcnow())
    )


def purge(db: Session, *, now: datetime) -> int:
    """Sessions past their expiry, or ended, are forgotten (an unknown cookie signs in no one)."""
    result = db.execute(
        delete(ConsoleSession).where((ConsoleSession.expires_at < now) | ConsoleSession.ended_at.is_not(None))
    )
    return int(getattr(result, "rowcount", 0) or 0)


def csrf_token(csrf_key: bytes, token: str) -> str:
    return hmac.new(csrf_key, token.encode(), hashlib.sha256).hexdigest()


def csrf_matches(csrf_key: bytes, token: str, presented: str) -> bool:
    return hmac.compare_digest(csrf_token(csrf_key, token), presented)
