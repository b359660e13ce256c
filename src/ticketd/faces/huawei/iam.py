"""IAM tokens: what `POST /v3/auth/tokens` issues and X-Auth-Token carries. Signed (HS256) with a
key of this face's own; they carry the user's credential version, so a password change or a
disablement ends them at once on every process. They last 24 hours, as IAM's do."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import jwt

from ticketd.core.errors import Unauthenticated
from ticketd.core.tokens import TokenClaims

TTL = timedelta(hours=24)
ISSUER = "ticketd-iam"


def face_secret(server_secret: str) -> str:
    return hmac.new(server_secret.encode(), b"huawei-iam-tokens", hashlib.sha256).hexdigest()


def issue(secret: str, *, user_id: int, domain_id: int, credential_version: int, now: datetime) -> str:
    issued = int(now.timestamp())
    claims = {
        "iss": ISSUER,
        "sub": str(user_id),
        "did": domain_id,
        "cv": credential_version,
        "iat": issued,
        "exp": issued + int(TTL.total_seconds()),
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def read(secret: str, token: str) -> TokenClaims:
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], issuer=ISSUER, options={"require": ["exp", "sub"]}
        )
        return TokenClaims(
            user_id=int(claims["sub"]),
            tenant_id=int(claims["did"]),
            credential_version=int(claims["cv"]),
            expires_at=int(claims["exp"]),
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("the token has expired") from exc
    except (jwt.InvalidTokenError, KeyError, ValueError, TypeError) as exc:
        raise Unauthenticated("the token is not valid") from exc
