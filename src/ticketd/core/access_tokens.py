"""Opaque access tokens for programs: issued against an API key, several at once, revocable.

Only a SHA-256 digest is stored; the token has 256 bits of entropy, so that is enough and lets
every process check one with a single indexed read.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketd.core.clock import utcnow
from ticketd.core.errors import Revoked, Unauthenticated
from ticketd.core.principal import Principal, Role
from ticketd.store.tables import AccessToken, ApiKey, User


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    scope: str


@dataclass(frozen=True)
class TokenGrant:
    principal: Principal
    scope: frozenset[str]


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def issue(
    db: Session, *, face: str, client: Principal, key_id: str, scope: str, ttl: timedelta
) -> IssuedToken:
    """A token for the client that authenticated with API key `key_id` (as `client`)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = AccessToken(
        digest=digest(token),
        face=face,
        api_key_id=key_id,
        tenant_id=client.tenant_id,
        scope=scope,
        created_at=now,
        expires_at=now + ttl,
        revoked_at=None,
    )
    db.add(row)
    db.flush()
    return IssuedToken(token=token, expires_at=row.expires_at, scope=scope)


def revoke(db: Session, *, face: str, token: str, key_id: str) -> bool:
    """Revokes a token the key holds. True if there was one to revoke (RFC 7009 answers 200 either way)."""
    row = db.get(AccessToken, digest(token))
    if row is None or row.face != face or row.api_key_id != key_id or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    db.flush()
    return True


def check(db: Session, *, face: str, token: str) -> TokenGrant:
    row = db.get(AccessToken, digest(token))
    if row is None or row.face != face:
        raise Unauthenticated("the access token is not valid")
    if row.revoked_at is not None:
        raise Revoked("the access token has been revoked")
    if row.expires_at <= utcnow():
        raise Unauthenticated("the access token has expired")
    found = db.execute(
        select(ApiKey, User).join(User, User.id == ApiKey.user_id).where(ApiKey.id == row.api_key_id)
    ).one_or_none()
    if found is None:
        raise Unauthenticated("the access token is not valid")
    key, user = found
    if key.revoked_at is not None or user.disabled:
        raise Revoked("the client's credentials have been revoked")
    if key.expires_at is not None and key.expires_at <= utcnow():
        raise Unauthenticated("the client's API key has expired")
    principal = Principal(
        tenant_id=key.tenant_id,
        user_id=user.id,
        role=Role(user.role),
        scopes=frozenset(key.scopes.split()),
        credential_id=f"key:{key.id}",
    )
    return TokenGrant(principal=principal, scope=frozenset(row.scope.split()))
