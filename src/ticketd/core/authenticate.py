"""Turning a presented credential into a Principal. No password hashing here: keys and tokens only."""

from __future__ import annotations

from ticketd.core.api_keys import secret_matches
from ticketd.core.clock import utcnow
from ticketd.core.errors import Unauthenticated
from ticketd.core.principal import ALL_SCOPES, Principal, Role
from ticketd.core.tokens import read_token
from ticketd.store.fast_reads import FastReader, to_datetime


class Authenticator:
    def __init__(self, reader: FastReader, token_secret: str) -> None:
        self._reader = reader
        self._token_secret = token_secret

    def by_api_key(self, key_id: str, secret: str) -> Principal:
        row = self._reader.api_key(key_id)
        if row is None:
            raise Unauthenticated("unknown API key")
        tenant_id, user_id, digest, scopes, expires_at, revoked_at, role, disabled = row
        if not secret_matches(bytes(digest), secret):
            raise Unauthenticated("unknown API key")
        if revoked_at is not None:
            raise Unauthenticated("the API key has been revoked")
        expiry = to_datetime(expires_at)
        if expiry is not None and expiry <= utcnow():
            raise Unauthenticated("the API key has expired")
        if disabled:
            raise Unauthenticated("the key's user is disabled")
        return Principal(
            tenant_id=tenant_id,
            user_id=user_id,
            role=Role(role),
            scopes=frozenset(scopes.split()),
            credential_id=f"key:{key_id}",
        )

    def by_token(self, token: str) -> Principal:
        claims = read_token(self._token_secret, token)
        row = self._reader.user(claims.user_id)
        # The token names a credential version: a password change or disablement bumps it, so
        # every token issued before stops working at once, on every process.
        if row is None:
            raise Unauthenticated("the token's user no longer exists")
        tenant_id, role, disabled, credential_version = row
        if disabled or credential_version != claims.credential_version or tenant_id != claims.tenant_id:
            raise Unauthenticated("the token has been revoked")
        return Principal(
            tenant_id=tenant_id,
            user_id=claims.user_id,
            role=Role(role),
            scopes=frozenset(ALL_SCOPES),
            credential_id=f"user:{claims.user_id}",
        )
