"""Turning a presented credential into a Principal. No password hashing here: keys and tokens only.

Every request reads the credential's row (on SQLite: unless nothing has committed anywhere since it
was last read), so a revoked key, a disabled user or a changed password takes effect at once on
every process. What is memoised is only the work of turning an unchanged row into a Principal,
and of checking a token's signature: both keyed by the exact input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ticketd.core.api_keys import secret_matches
from ticketd.core.clock import utcnow
from ticketd.core.errors import Unauthenticated
from ticketd.core.principal import PERSON_SCOPES, Principal, Role
from ticketd.core.tokens import ClaimsMemo, TokenClaims, TokenKeys, read_token
from ticketd.store.fast_reads import FastReader, to_datetime
from ticketd.store.rows import KeyRow, TicketStatusRow, UserRow

MEMO_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class KeyCredential:
    key_id: str
    secret: str


@dataclass(frozen=True, slots=True)
class TokenCredential:
    token: str


Credential = KeyCredential | TokenCredential
ALL_SCOPE_VALUES = frozenset(scope.value for scope in PERSON_SCOPES)


class Authenticator:
    """One entry per kind of credential: an API key, or the claims of a verified token (ticketd's
    own JWTs, or a face's tokens once the face has read them). Each has a `..._with_ticket` twin
    for the hot path, which reads the credential and the ticket together."""

    def __init__(self, reader: FastReader, token_secret: str | TokenKeys) -> None:
        self._reader = reader
        self._key_principals: dict[tuple[str, str, KeyRow], tuple[Principal, datetime | None]] = {}
        # ticketd's own bearer tokens, checked once and then memoised.
        self.token_claims = ClaimsMemo(lambda token: read_token(token_secret, token))

    def authenticate(self, credential: Credential) -> Principal:
        if isinstance(credential, KeyCredential):
            return self.by_api_key(credential.key_id, credential.secret)
        return self.by_claims(self.token_claims(credential.token))

    def authenticate_with_ticket(
        self, credential: Credential, ticket_id: int
    ) -> tuple[Principal, TicketStatusRow | None]:
        """The hot path: the credential checked and the ticket read together (one statement, or the
        status mirror and a credential row unchanged since the last commit: see FastReader)."""
        if isinstance(credential, KeyCredential):
            return self.api_key_with_ticket(credential.key_id, credential.secret, ticket_id)
        return self.claims_with_ticket(self.token_claims(credential.token), ticket_id)

    def by_api_key(self, key_id: str, secret: str) -> Principal:
        return self._key_principal(key_id, secret, self._reader.api_key(key_id))

    def api_key_with_ticket(
        self, key_id: str, secret: str, ticket_id: int
    ) -> tuple[Principal, TicketStatusRow | None]:
        key, ticket = self._reader.key_and_ticket(key_id, ticket_id)
        return self._key_principal(key_id, secret, key), ticket

    def by_claims(self, claims: TokenClaims) -> Principal:
        return self._claims_principal(claims, self._reader.user(claims.user_id))

    def claims_with_ticket(
        self, claims: TokenClaims, ticket_id: int
    ) -> tuple[Principal, TicketStatusRow | None]:
        user, ticket = self._reader.user_and_ticket(claims.user_id, ticket_id)
        return self._claims_principal(claims, user), ticket

    def _key_principal(self, key_id: str, secret: str, row: KeyRow | None) -> Principal:
        if row is None:
            raise Unauthenticated("unknown API key")
        # Keyed by the secret and the whole row: a hit means this secret was checked against
        # this very row before, so the hash need not be computed again.
        memo_key = (secret, key_id, row)
        memo = self._key_principals.get(memo_key)
        if memo is None:
            if not secret_matches(bytes(row.secret_digest), secret):
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
    def _build_key_principal(key_id: str, row: KeyRow) -> tuple[Principal, datetime | None]:
        if row.revoked_at is not None:
            raise Unauthenticated("the API key has been revoked")
        if row.disabled:
            raise Unauthenticated("the key's user is disabled")
        principal = Principal(
            tenant_id=row.tenant_id,
            user_id=row.user_id,
            role=Role(row.role),
            scopes=frozenset(row.scopes.split()),
            credential_id=f"key:{key_id}",
        )
        return principal, to_datetime(row.expires_at)

    @staticmethod
    def _claims_principal(claims: TokenClaims, row: UserRow | None) -> Principal:
        # The token names a credential version: a password change or disablement bumps it, so
        # every token issued before stops working at once, on every process.
        if row is None:
            raise Unauthenticated("the token's user no longer exists")
        if (
            row.disabled
            or row.credential_version != claims.credential_version
            or row.tenant_id != claims.tenant_id
        ):
            raise Unauthenticated("the token has been revoked")
        return Principal(
            tenant_id=row.tenant_id,
            user_id=claims.user_id,
            role=Role(row.role),
            scopes=ALL_SCOPE_VALUES,
            credential_id=f"user:{claims.user_id}",
        )
