"""Time-limited download links (Huawei OSM's access URLs): whoever holds one may fetch that file,
without a credential, until it expires; nothing else. The link carries its expiry and an HMAC of
the file's id and that expiry under a key derived from the server's key, so any process of the
deployment can check it and no store row is needed. A removed file's link finds nothing."""

from __future__ import annotations

import hashlib
import hmac
import time

from ticketd.core.errors import NotFound

PURPOSE = b"ticketd attachment link v1"


def link_key(server_key: str) -> bytes:
    return hmac.new(server_key.encode(), PURPOSE, hashlib.sha256).digest()


def signature(key: bytes, attachment_id: int, expires: int) -> str:
    return hmac.new(key, f"{attachment_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def signed_query(key: bytes, attachment_id: int, ttl_seconds: int, now: float | None = None) -> str:
    expires = int((time.time() if now is None else now) + ttl_seconds)
    return f"expires={expires}&signature={signature(key, attachment_id, expires)}"


def check(keys: list[bytes], attachment_id: int, expires: int, given: str, now: float | None = None) -> None:
    """Refuses an expired or forged link exactly as a missing file: it reveals nothing."""
    if expires < (time.time() if now is None else now) or not _is_hex_digest(given):
        raise NotFound(f"attachment {attachment_id} does not exist")
    if not any(hmac.compare_digest(signature(key, attachment_id, expires), given) for key in keys):
        raise NotFound(f"attachment {attachment_id} does not exist")


def _is_hex_digest(text: str) -> bool:
    # compare_digest takes ASCII strings only; anything else is no signature of ours anyway.
    return len(text) == 64 and all(char in "0123456789abcdef" for char in text)
