"""Reading `Authorization` headers into a Principal, shared by the hot path and the routes."""

from __future__ import annotations

import binascii
from base64 import b64decode

from ticketd.core.authenticate import Authenticator
from ticketd.core.errors import Unauthenticated
from ticketd.core.principal import Principal

CHALLENGE = 'Basic realm="ticketd", Bearer realm="ticketd"'


def principal_from_header(authenticator: Authenticator, authorization: str | None) -> Principal:
    if not authorization:
        raise Unauthenticated("credentials are required")
    scheme, _, value = authorization.strip().partition(" ")
    scheme = scheme.lower()
    value = value.strip()
    if scheme == "basic":
        key_id, secret = decode_basic(value)
        return authenticator.by_api_key(key_id, secret)
    if scheme == "bearer" and value:
        return authenticator.by_token(value)
    raise Unauthenticated("unsupported authorization scheme")


def decode_basic(value: str) -> tuple[str, str]:
    try:
        decoded = b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise Unauthenticated("malformed Basic credentials") from exc
    user, sep, password = decoded.partition(":")
    if not sep or not user:
        raise Unauthenticated("malformed Basic credentials")
    return user, password
