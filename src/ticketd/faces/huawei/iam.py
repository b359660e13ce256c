"""IAM tokens: what `POST /v3/auth/tokens` issues and X-Auth-Token carries. Signed (HS256) with a
key of this face's own; they carry the user's credential version, so a password change or a
disablement ends them at once on every process. They last 24 hours, as IAM's do."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from ticketd.core.tokens import TokenClaims, TokenKeys, read_claims, sign

TTL = timedelta(hours=24)
ISSUER = "ticketd-iam"


def face_keys(server_keys: Sequence[str]) -> TokenKeys:
    return TokenKeys(server_keys, "huawei-iam-tokens")


def issue(
    secret: str | TokenKeys, *, user_id: int, domain_id: int, credential_version: int, now: datetime
) -> str:
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
    return sign(claims, secret)


def read(secret: str | TokenKeys, token: str) -> TokenClaims:
    return read_claims(secret, token, tenant_claim="did", issuer=ISSUER)
