from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ticketd.core.api_keys import generate_key, secret_digest, secret_matches
from ticketd.core.errors import Unauthenticated
from ticketd.core.passwords import hash_password, verify_password
from ticketd.core.tokens import issue_token, read_token


def test_api_key_secret_is_checked_by_digest() -> None:
    key = generate_key()
    digest = secret_digest(key.secret)
    assert key.key_id.startswith("tk_")
    assert len(key.secret) >= 40
    assert secret_matches(digest, key.secret)
    assert not secret_matches(digest, key.secret + "x")


def test_passwords_are_argon2() -> None:
    hashed = hash_password("correct horse")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "correct horse")
    assert not verify_password(hashed, "wrong")
    assert not verify_password(None, "anything")
    assert not verify_password("not a hash", "anything")


def test_token_round_trip_and_expiry() -> None:
    now = datetime.now(UTC)
    token = issue_token(
        "s" * 32, user_id=7, tenant_id=3, credential_version=2, now=now, ttl=timedelta(minutes=5)
    )
    claims = read_token("s" * 32, token)
    assert (claims.user_id, claims.tenant_id, claims.credential_version) == (7, 3, 2)
    with pytest.raises(Unauthenticated):
        read_token("t" * 32, token)
    old = issue_token(
        "s" * 32,
        user_id=7,
        tenant_id=3,
        credential_version=2,
        now=now - timedelta(hours=2),
        ttl=timedelta(minutes=5),
    )
    with pytest.raises(Unauthenticated, match="expired"):
        read_token("s" * 32, old)
    with pytest.raises(Unauthenticated):
        read_token("s" * 32, "garbage.token.here")
