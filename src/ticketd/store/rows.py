"""The rows the hot path reads on the driver, typed. NamedTuples: plain tuples at run time, so a row
costs what a tuple costs, and every field has a name and a type where it is used."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

# A timestamp as the driver hands it back: SQLite's epoch microseconds, or psycopg's datetime.
StoredTime = int | datetime


class KeyRow(NamedTuple):
    """An API key with its user's role and state."""

    tenant_id: int
    user_id: int
    secret_digest: bytes
    scopes: str
    expires_at: StoredTime | None
    revoked_at: StoredTime | None
    role: str
    disabled: bool


class UserRow(NamedTuple):
    """What a token's user must still be for the token to stand."""

    tenant_id: int
    role: str
    disabled: bool
    credential_version: int


class TicketStatusRow(NamedTuple):
    """A ticket's status fields: all a status lookup needs, and who may see them."""

    tenant_id: int
    requester_id: int | None
    status: str
    version: int
    updated_at: StoredTime


class SigningKeyRow(NamedTuple):
    """An AK/SK pair: the sealed secret, and the state of the key and of its user."""

    tenant_id: int
    user_id: int
    secret_sealed: bytes
    revoked_at: StoredTime | None
    role: str
    disabled: bool
    user_tenant_id: int


class OperationRow(NamedTuple):
    tenant_id: int
    status: str
    created_at: StoredTime
    created_by: int | None


KEY_FIELDS = len(KeyRow._fields)
USER_FIELDS = len(UserRow._fields)
