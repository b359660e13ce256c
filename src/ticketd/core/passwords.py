"""Password hashing with argon2id. Only logins pay for it; requests use keys or tokens."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's argon2id recommendation (19 MiB, 2 passes, 1 lane) rather than the library's 64 MiB
# profile: a login then costs ~20 ms and 19 MiB, so concurrent logins cannot blow up the server's
# memory, and hashes stay far beyond what offline guessing can afford.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


@cache
def _dummy_hash() -> str:
    # Verified against when the user does not exist, so a login takes as long either way.
    return _hasher.hash("not a password of anyone")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
