"""Short-lived signed access tokens (HS256 JWTs) for users who logged in with a password."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from ticketd.core.errors import Unauthenticated

ISSUER = "ticketd"


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    tenant_id: int
    credential_version: int
    expires_at: int  # seconds since the epoch


class TokenKeys:
    """The keys one kind of token is signed with: the newest signs, its id in the token's `kid`
    header; every key still in the server's keyring verifies, so tokens signed before a rotation
    stay good until they expire. `purpose` derives a key of this kind's own from each server key."""

    def __init__(self, server_keys: Sequence[str], purpose: str | None = None) -> None:
        keys = [derived_secret(key, purpose) if purpose else key for key in server_keys]
        self._by_id = {key_id(server_key): key for server_key, key in zip(server_keys, keys, strict=True)}
        self._current = key_id(server_keys[-1])

    def signing(self) -> tuple[str, str]:
        return self._current, self._by_id[self._current]

    def verifying(self, kid: object) -> str | None:
        if kid is None:
            return self._by_id[self._current]
        return self._by_id.get(kid) if isinstance(kid, str) else None


def key_id(server_key: str) -> str:
    """A key's public name: the first 16 hex digits of its SHA-256, nothing that reveals the key."""
    return hashlib.sha256(server_key.encode()).hexdigest()[:16]


def as_keys(keys: str | TokenKeys) -> TokenKeys:
    return keys if isinstance(keys, TokenKeys) else TokenKeys([keys])


def sign(claims: dict[str, object], keys: str | TokenKeys, headers: dict[str, str] | None = None) -> str:
    kid, secret = as_keys(keys).signing()
    return jwt.encode(claims, secret, algorithm="HS256", headers={**(headers or {}), "kid": kid})


def issue_token(
    secret: str | TokenKeys,
    *,
    user_id: int,
    tenant_id: int,
    credential_version: int,
    now: datetime,
    ttl: timedelta,
) -> str:
    payload = {
        "iss": ISSUER,
        "sub": str(user_id),
        "tid": tenant_id,
        "cv": credential_version,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    return sign(payload, secret)


class ExpiredToken(Unauthenticated):
    """A well-signed token past its expiry (some faces answer this one in words of their own)."""


def read_token(secret: str | TokenKeys, token: str) -> TokenClaims:
    return read_claims(secret, token, tenant_claim="tid", issuer=ISSUER, require=("exp", "sub", "iat"))


def read_claims(
    secret: str | TokenKeys,
    token: str,
    *,
    tenant_claim: str,
    issuer: str | None = None,
    require: tuple[str, ...] = ("exp", "sub"),
    expired: str = "the token has expired",
    invalid: str = "the token is not valid",
) -> TokenClaims:
    """Checks an HS256 token of any face and reads the claims every face's tokens carry."""
    try:
        key = as_keys(secret).verifying(jwt.get_unverified_header(token).get("kid"))
        if key is None:
            raise jwt.InvalidTokenError("signed with a key this server does not hold")
        claims = jwt.decode(
            token, key, algorithms=["HS256"], issuer=issuer, options={"require": list(require)}
        )
        return TokenClaims(
            user_id=int(claims["sub"]),
            tenant_id=int(claims[tenant_claim]),
            credential_version=int(claims.get("cv", 0)),
            expires_at=int(claims["exp"]),
        )
    except jwt.ExpiredSignatureError as exc:
        raise ExpiredToken(expired) from exc
    except (jwt.InvalidTokenError, KeyError, ValueError, TypeError) as exc:
        raise Unauthenticated(invalid) from exc


def derived_secret(server_secret: str, purpose: str) -> str:
    """A signing key of one face's own, so its tokens are no other face's."""
    return hmac.new(server_secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()


class ClaimsMemo:
    """A face's token reader with its results remembered: a signature is checked once per token,
    the expiry every time. Bounded (cleared when full), so memory stays flat whatever clients send."""

    def __init__(self, read: Callable[[str], TokenClaims], limit: int = 10_000) -> None:
        self._read = read
        self._limit = limit
        self._claims: dict[str, TokenClaims] = {}

    def __call__(self, token: str) -> TokenClaims:
        claims = self._claims.get(token)
        if claims is None:
            claims = self._read(token)
            if len(self._claims) >= self._limit:
                self._claims.clear()
            self._claims[token] = claims
        elif claims.expires_at <= time.time():
            raise ExpiredToken("the token has expired")
        return claims
