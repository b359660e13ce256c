"""Turning a presented credential into a Principal. No password hashing here: keys and tokens only.

Every request reads the credential's row (on SQLite: unless nothing has committed anywhere since it
was last read), so a revoked key, a disabled user or a changed password takes effect at once on
every process. What is memoised is only the work of turning an unchanged row into a Principal,
and of checking a token's signature: both keyed by the exact input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ticketd.core.api_keys import secret_matches
from ticketd.core.clock import utcnow
from ticketd.core.errors import Unauthenticated
from ticketd.core.principal import ALL_SCOPES, Principal, Role
from ticketd.core.tokens import TokenClaims, read_token
from ticketd.store.fast_reads import FastReader, to_datetime

MEMO_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class KeyCredential:
    key_id: str
    secret: str


@dataclass(frozen=True, slots=True)
class TokenCredential:
    token: str


Credential = KeyCredential | TokenCredential
TicketRow = tuple[Any, ...]  # tenant_id, requester_id, status, version, updated_at; all None if absent
ALL_SCOPE_VALUES = frozenset(scope.value for scope in ALL_SCOPES)


class Authenticator:
    def __init__(self, reader: FastReader, token_secret: str) -> None:
        self._reader = reader
        self._token_secret = token_secret
        self._key_principals: dict[tuple[Any, ...], tuple[Principal, datetime | None]] = {}
        # Bounded: cleared when full, so memory stays flat whatever clients send.
        self._token_claims: dict[str, TokenClaims] = {}

    def authenticate(self, credential: Credential) -> Principal:
        if isinstance(credential, KeyCredential):
            return self.by_api_key(credential.key_id, credential.secret)
        return self.by_token(credential.token)

    def authenticate_with_ticket(self, credential: Credential, ticket_id: int) -> tuple[Principal, TicketRow]:
        """The hot path: the credential checked and the ticket read together (one statement, or the
        status mirror and a credential row unchanged since the last commit: see FastReader)."""
        if isinstance(credential, KeyCredential):
            row = self._reader.key_and_ticket(credential.key_id, ticket_id)
            return self.key_principal(credential.key_id, credential.secret, row and row[:8]), (row or ())[8:]
        claims = self.token_claims(credential.token)
        row = self._reader.user_and_ticket(claims.user_id, ticket_id)
        return self.token_principal(claims, row and row[:4]), (row or ())[4:]

    def by_api_key(self, key_id: str, secret: str) -> Principal:
        return self.key_principal(key_id, secret, self._reader.api_key(key_id))

    def by_token(self, token: str) -> Principal:
        claims = self.token_claims(token)
        return self.token_principal(claims, self._reader.user(claims.user_id))

    def key_principal(self, key_id: str, secret: str, row: tuple[Any, ...] | None) -> Principal:
        """From the 8 key columns FastReader reads."""
        if row is None or row[0] is None:
            raise Unauthenticated("unknown API key")
        # Keyed by the secret and the whole row: a hit means this secret was checked against
        # this very row before, so the hash need not be computed again.
        memo_key = (secret, key_id, row)
        memo = self._key_principals.get(memo_key)
        if memo is None:
            if not secret_matches(bytes(row[2]), secret):
                raise Unauthenticated("unknown API key")
            memo = self._build_key_principal(key_id, row)
            if len(self._key_principals) >= MEMO_LIMIT:
                self._key_principals.clear()
            self._key_principals[memo_key] = memo
        principal, expiry = memo
        if expiry is not None and expiry <= utcnow():
            raise Unauthenticated("the API key has expired")
        return principal

    @staticmethod
    def _build_key_principal(key_id: str, row: tuple[Any, ...]) -> tuple[Principal, datetime | None]:
        tenant_id, user_id, _digest, scopes, expires_at, revoked_at, role, disabled = row
        if revoked_at is not None:
            raise Unauthenticated("the API key has been revoked")
        if disabled:
            raise Unauthenticated("the key's user is disabled")
        principal = Principal(
            tenant_id=tenant_id,
            user_id=user_id,
            role=Role(role),
            scopes=frozenset(scopes.split()),
            credential_id=f"key:{key_id}",
        )
        return principal, to_datetime(expires_at)

    def token_claims(self, token: str) -> TokenClaims:
        claims = self._token_claims.get(token)
        if claims is None:
            claims = read_token(self._token_secret, token)
            if len(self._token_claims) >= MEMO_LIMIT:
                self._token_claims.clear()
            self._token_claims[token] = claims
        elif claims.expires_at <= utcnow().timestamp():
            raise Unauthenticated("the token has expired")
        return claims

    def token_principal(self, claims: TokenClaims, row: tuple[Any, ...] | None) -> Principal:
        """From the 4 user columns FastReader reads."""
        # The token names a credential version: a password change or disablement bumps it, so
        # every token issued before stops working at once, on every process.
        if row is None or row[0] is None:
            raise Unauthenticated("the token's user no longer exists")
        tenant_id, role, disabled, credential_version = row
        if disabled or credential_version != claims.credential_version or tenant_id != claims.tenant_id:
            raise Unauthenticated("the token has been revoked")
        return Principal(
            tenant_id=tenant_id,
            user_id=claims.user_id,
            role=Role(role),
            scopes=ALL_SCOPE_VALUES,
            credential_id=f"user:{claims.user_id}",
        )
