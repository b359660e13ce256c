"""Short-lived signed access tokens (HS256 JWTs) for users who logged in with a password."""

from __future__ import annotations

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


def read_token(secret: str, token: str) -> TokenClaims:
    try:
        payload = jwt.decode(
            token, secret, algorithms=["HS256"], issuer=ISSUER, options={"require": ["exp", "sub", "iat"]}
        )
        return TokenClaims(
            user_id=int(payload["sub"]),
            tenant_id=int(payload["tid"]),
            credential_version=int(payload["cv"]),
            expires_at=int(payload["exp"]),
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("the token has expired") from exc
    except (jwt.InvalidTokenError, KeyError, ValueError, TypeError) as exc:
        raise Unauthenticated("the token is not valid") from exc
