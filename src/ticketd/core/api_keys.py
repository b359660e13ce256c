"""API keys for programs: a public id and a high-entropy secret, stored as a SHA-256 digest.

Verification is one indexed read and one SHA-256 — microseconds — because the secret has 256
bits of entropy: a slow password hash defends low-entropy secrets and would only cost time here.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_ID_PREFIX = "tk_"


@dataclass(frozen=True)
class NewKey:
    key_id: str
    secret: str


def generate_key() -> NewKey:
    return NewKey(key_id=KEY_ID_PREFIX + secrets.token_hex(12), secret=secrets.token_urlsafe(32))


def secret_digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def secret_matches(stored_digest: bytes, secret: str) -> bool:
    return hmac.compare_digest(stored_digest, secret_digest(secret))
