"""Access keys for signed requests (AK/SK). Checking an HMAC signature needs the secret key itself,
so it is kept sealed with AES-GCM under a key derived from the server secret: a copy of the
database alone does not give the secrets away.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketd.core.clock import utcnow
from ticketd.core.errors import NotFound
from ticketd.store.tables import SigningKey, User


@dataclass(frozen=True)
class AccessKeyPair:
    access_key: str
    secret_key: str


class Sealer:
    """Seals under the server's current key; opens under it or any older key still in the keyring
    (what was sealed before a rotation, until the next start seals it again under the current)."""

    def __init__(self, server_secret: str, older: Sequence[str] = ()) -> None:
        self._aead = _aead(server_secret)
        self._older = [_aead(key) for key in reversed(older)]

    def seal(self, secret: str, access_key: str) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, secret.encode(), access_key.encode())

    def open(self, sealed: bytes, access_key: str) -> str | None:
        for aead in (self._aead, *self._older):
            try:
                return aead.decrypt(sealed[:12], sealed[12:], access_key.encode()).decode()
            except (InvalidTag, ValueError):
                continue
        return None

    def opens_current(self, sealed: bytes, access_key: str) -> bool:
        try:
            self._aead.decrypt(sealed[:12], sealed[12:], access_key.encode())
        except (InvalidTag, ValueError):
            return False
        return True


def keyring_sealer(server_keys: tuple[str, ...]) -> Sealer:
    """Seals with the newest of the server's keys and opens with any of them (oldest first)."""
    return Sealer(server_keys[-1], older=server_keys[:-1])


def _aead(server_secret: str) -> AESGCM:
    return AESGCM(hashlib.sha256(b"ticketd signing keys\x00" + server_secret.encode()).digest())


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


def revoke(db: Session, *, access_key: str, tenant_id: int | None = None) -> SigningKey:
    """Revokes an AK/SK pair: a request it signs is refused from the next one on, on every process.

    `tenant_id` scopes the lookup (an admin revoking through the API); None for an operator's command.
    """
    key = db.get(SigningKey, access_key)
    if key is None or (tenant_id is not None and key.tenant_id != tenant_id):
        raise NotFound(f"no access key {access_key!r}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        db.flush()
    return key


def list_keys(db: Session, *, tenant_id: int) -> list[SigningKey]:
    return list(
        db.scalars(
            select(SigningKey).where(SigningKey.tenant_id == tenant_id).order_by(SigningKey.created_at)
        )
    )
