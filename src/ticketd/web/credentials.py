"""Reading `Authorization` headers into credentials, shared by the hot path and the routes."""

from __future__ import annotations

import binascii
from functools import lru_cache

from ticketd.core.authenticate import Authenticator, Credential, KeyCredential, TokenCredential
from ticketd.core.errors import Unauthenticated
from ticketd.core.principal import Principal

CHALLENGE = 'Basic realm="ticketd", Bearer realm="ticketd"'


def parse_authorization(authorization: str | None) -> Credential:
    if not authorization:
        raise Unauthenticated("credentials are required")
    return _parse(authorization)


# A client sends the same header on every poll; decoding it once per process is enough.
# (Failures raise, and are not cached.)
@lru_cache(maxsize=4096)
def _parse(authorization: str) -> Credential:
    scheme, _, value = authorization.strip().partition(" ")
    scheme = scheme.lower()
    value = value.strip()
    if scheme == "basic":
        key_id, secret = decode_basic(value)
        return KeyCredential(key_id, secret)
    if scheme == "bearer" and value:
        return TokenCredential(value)
    raise Unauthenticated("unsupported authorization scheme")


def principal_from_header(authenticator: Authenticator, authorization: str | None) -> Principal:
    return authenticator.authenticate(parse_authorization(authorization))


def decode_basic(value: str) -> tuple[str, str]:
    try:
        decoded = binascii.a2b_base64(value, strict_mode=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise Unauthenticated("malformed Basic credentials") from exc
    user, sep, password = decoded.partition(":")
    if not sep or not user or "\x00" in decoded:  # NUL: no credential has one, and no store holds it
        raise Unauthenticated("malformed Basic credentials")
    return user, password


def still_stands(authenticator: Authenticator, authorization: str | None, principal: Principal) -> bool:
    """Whether the credential a long request (an event stream) began with still gives the same
    principal: False once it is revoked, expired, or its user disabled or changed."""
    try:
        return principal_from_header(authenticator, authorization) == principal
    except Unauthenticated:
        return False
