"""Short-lived signed access tokens (HS256 JWTs) for users who logged in with a password."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
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


def issue_token(
    secret: str, *, user_id: int, tenant_id: int, credential_version: int, now: datetime, ttl: timedelta
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
    return jwt.encode(payload, secret, algorithm="HS256")


class ExpiredToken(Unauthenticated):
    """A well-signed token past its expiry (some faces answer this one in words of their own)."""


def read_token(secret: str, token: str) -> TokenClaims:
    return read_claims(secret, token, tenant_claim="tid", issuer=ISSUER, require=("exp", "sub", "iat"))


def read_claims(
    secret: str,
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
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], issuer=issuer, options={"require": list(require)}
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
