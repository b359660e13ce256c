"""The server's key: what signs every face's tokens and seals access keys' secrets. Kept outside the
store, so that a copy of the database gives away no secret and lets nobody forge a token.

Where it comes from, first match wins: `TICKETD_SECRET_KEY` (at least 32 bytes), the file named by
`TICKETD_SECRET_KEY_FILE`, or, on the embedded store, `ticketd.key` beside the SQLite file, created
on first start with mode 0600. With PostgreSQL one of the first two is required: every process on
every host must hold the same key, and only the operator can hand it to them.

Stores from before kept the key in the database (`server_secrets`); on first start with a key from
here, the access keys sealed under the old one are sealed again under the new, and the old one is
deleted. Tokens signed with it end (users sign in again).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketd.core.signing_keys import Sealer, keyring_sealer
from ticketd.settings import Settings
from ticketd.store.tables import ServerSecret, SigningKey, WebhookEndpoint

MIN_BYTES = 32
KEY_FILE_NAME = "ticketd.key"
# The name under which stores from before kept the key.
LEGACY_NAME = "jwt-signing-key"


class ServerKeyError(Exception):
    """The key cannot be had as configured; the message names the setting."""


def key_file(settings: Settings) -> Path | None:
    if settings.secret_key_file is not None:
        return settings.secret_key_file
    if settings.is_sqlite:
        return Path(settings.resolved_database_url.removeprefix("sqlite:///")).parent / KEY_FILE_NAME
    return None


def server_key(settings: Settings) -> str:
    """The current key: the one that signs and seals."""
    return server_keys(settings)[-1]


def server_keys(settings: Settings) -> tuple[str, ...]:
    """Every key of the keyring, oldest first; the last is current. A key file holds one key a line:
    `ticketd secrets rotate` adds one, and the older ones go on verifying what they signed."""
    if settings.secret_key:
        return (_checked(settings.secret_key, "TICKETD_SECRET_KEY"),)
    path = key_file(settings)
    if path is None:
        raise ServerKeyError(
            "set TICKETD_SECRET_KEY or TICKETD_SECRET_KEY_FILE: with PostgreSQL every process and host "
            "must share one key, kept outside the database"
        )
    if not path.exists():
        if settings.secret_key_file is not None:
            raise ServerKeyError(f"TICKETD_SECRET_KEY_FILE: no file at {path}")
        _create(path)
    try:
        lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    except OSError as exc:
        raise ServerKeyError(f"TICKETD_SECRET_KEY_FILE: cannot read {path}: {exc.strerror}") from exc
    if not lines:
        raise ServerKeyError(f"TICKETD_SECRET_KEY_FILE: {path} holds no key")
    return tuple(_checked(line, "TICKETD_SECRET_KEY_FILE") for line in lines)


def rotate(settings: Settings) -> Path:
    """Adds a new current key to the key file (kept 0600, replaced whole so no reader sees half of
    it). Servers take it up at their next start."""
    if settings.secret_key:
        raise ServerKeyError("TICKETD_SECRET_KEY: keys set in the environment rotate by hand; use a key file")
    keys = server_keys(settings)
    path = key_file(settings)
    assert path is not None  # server_keys found one
    new = path.with_name(path.name + ".new")
    descriptor = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write("".join(f"{key}\n" for key in (*keys, secrets.token_urlsafe(48))))
    os.replace(new, path)
    return path


def _checked(key: str, setting: str) -> str:
    if len(key.encode()) < MIN_BYTES:
        raise ServerKeyError(f"{setting}: the key must be at least {MIN_BYTES} bytes")
    return key


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # Readable by this user only, from the moment it exists.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process made it first: read theirs
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_urlsafe(48) + "\n")


def needs_settling(db: Session, keys: tuple[str, ...]) -> bool:
    """Whether a start has work here: a key kept in the store, or older keys to reseal from."""
    return len(keys) > 1 or db.get(ServerSecret, LEGACY_NAME) is not None


def reseal_access_keys(db: Session, keys: tuple[str, ...]) -> int:
    """Access keys sealed under an older key of the keyring, sealed again under the current."""
    sealer = keyring_sealer(keys)
    moved = 0
    for row in db.scalars(select(SigningKey)):
        sealed = bytes(row.secret_sealed)
        if sealer.opens_current(sealed, row.access_key):
            continue
        secret = sealer.open(sealed, row.access_key)
        if secret is not None:
            row.secret_sealed = sealer.seal(secret, row.access_key)
            moved += 1
    moved += _reseal_webhook_secrets(db, sealer, sealer)
    db.flush()
    return moved


def _reseal_webhook_secrets(db: Session, opener: Sealer, sealer: Sealer) -> int:
    """Webhook endpoints' secrets (and previous secrets) opened with `opener`, sealed with `sealer`
    where they are not under its key already."""
    moved = 0
    for endpoint in db.scalars(select(WebhookEndpoint)):
        for column in ("secret_sealed", "previous_secret_sealed"):
            sealed = getattr(endpoint, column)
            if sealed is None or (opener is sealer and sealer.opens_current(bytes(sealed), endpoint.id)):
                continue
            secret = opener.open(bytes(sealed), endpoint.id)
            if secret is not None:
                setattr(endpoint, column, sealer.seal(secret, endpoint.id))
                moved += 1
    return moved


def retire_stored_key(db: Session, key: str) -> int:
    """Moves a store from before off the key it kept in itself: access keys sealed again under `key`,
    the stored one deleted. Returns how many were sealed again; 0 (and nothing done) when there is
    none, so every start may call it."""
    stored = db.get(ServerSecret, LEGACY_NAME)
    if stored is None:
        return 0
    old, new = Sealer(stored.value), Sealer(key)
    moved = 0
    for row in db.scalars(select(SigningKey)):
        secret = old.open(bytes(row.secret_sealed), row.access_key)
        if secret is not None:
            row.secret_sealed = new.seal(secret, row.access_key)
            moved += 1
    moved += _reseal_webhook_secrets(db, old, new)
    db.delete(stored)
    db.flush()
    return moved
