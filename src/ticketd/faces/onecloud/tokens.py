"""OneCloud's tokens: HS256 JWTs with the vendor's claims (iss, sub, sid, iat, nbf, exp, jti).

They are signed with a key derived from the server secret for this face alone, so a native token
is not a OneCloud token nor the other way round. `cv` carries the user's credential version: a
password change or disablement ends every token at once.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from ticketd.core.tokens import TokenClaims, TokenKeys, read_claims, sign


def face_keys(server_keys: Sequence[str]) -> TokenKeys:
    return TokenKeys(server_keys, "onecloud-tokens")


def issue(
    secret: str | TokenKeys,
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
    return sign(claims, secret, headers={"typ": "JWT"})


def read(secret: str | TokenKeys, token: str) -> TokenClaims:
    # The vendor's words: "Expired token" has a body of its own (errors.EXPIRED_TOKEN_RECORDS).
    return read_claims(
        secret,
        token,
        tenant_claim="sid",
        require=("exp", "sub", "sid", "iat"),
        expired="Expired token",
        invalid="Invalid token",
    )
