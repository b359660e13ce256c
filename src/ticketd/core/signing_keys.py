"""Access keys for signed requests (AK/SK). Checking an HMAC signature needs the secret key itself,
so it is kept sealed with AES-GCM under a key derived from the server secret: a copy of the
database alone does not give the secrets away.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.orm import Session

from ticketd.core.clock import utcnow
from ticketd.store.tables import SigningKey, User


@dataclass(frozen=True)
class AccessKeyPair:
    access_key: str
    secret_key: str


class Sealer:
    def __init__(self, server_secret: str) -> None:
        self._aead = AESGCM(hashlib.sha256(b"ticketd signing keys\x00" + server_secret.encode()).digest())

    def seal(self, secret: str, access_key: str) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, secret.encode(), access_key.encode())

    def open(self, sealed: bytes, access_key: str) -> str | None:
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], access_key.encode()).decode()
        except (InvalidTag, ValueError):
            return None


def create(db: Session, sealer: Sealer, *, user: User, fixed: AccessKeyPair | None = None) -> AccessKeyPair:
    pair = fixed or AccessKeyPair(
        access_key=secrets.token_hex(10).upper(), secret_key=secrets.token_urlsafe(30)
    )
    db.add(
        SigningKey(
            access_key=pair.access_key,
            tenant_id=user.tenant_id,
            user_id=user.id,
            secret_sealed=sealer.seal(pair.secret_key, pair.access_key),
            created_at=utcnow(),
            revoked_at=None,
        )
    )
    db.flush()
    return pair
