"""OneCloud's tokens: HS256 JWTs with the vendor's claims (iss, sub, sid, iat, nbf, exp, jti).

They are signed with a key derived from the server secret for this face alone, so a native token
is not a OneCloud token nor the other way round. `cv` carries the user's credential version: a
password change or disablement ends every token at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import jwt

from ticketd.core.errors import Unauthenticated
from ticketd.core.tokens import TokenClaims


def face_secret(server_secret: str) -> str:
    return hmac.new(server_secret.encode(), b"onecloud-tokens", hashlib.sha256).hexdigest()


def issue(
    secret: str,
    *,
    issuer: str,
    user_id: int,
    site_id: int,
    credential_version: int,
    now: datetime,
    ttl: timedelta,
) -> str:
    issued = int(now.timestamp())
    claims = {
        "iss": issuer,
        "sub": str(user_id),
        "exp": issued + int(ttl.total_seconds()),
        "nbf": issued,
        "iat": issued,
        "jti": secrets.token_urlsafe(24),
        "sid": str(site_id),
        "cv": credential_version,
    }
    return jwt.encode(claims, secret, algorithm="HS256", headers={"typ": "JWT"})


class ExpiredToken(Unauthenticated):
    pass


def read(secret: str, token: str) -> TokenClaims:
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], options={"require": ["exp", "sub", "sid", "iat"]}
        )
        return TokenClaims(
            user_id=int(claims["sub"]),
            tenant_id=int(claims["sid"]),
            credential_version=int(claims.get("cv", 0)),
            expires_at=int(claims["exp"]),
        )
    except jwt.ExpiredSignatureError as exc:
        raise ExpiredToken("Expired token") from exc
    except (jwt.InvalidTokenError, KeyError, ValueError, TypeError) as exc:
        raise Unauthenticated("Invalid token") from exc
