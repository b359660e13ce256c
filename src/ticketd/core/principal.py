"""Who is asking: the outcome of authenticating a request, whatever the face or scheme."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"
    CUSTOMER = "customer"


class Scope(StrEnum):
    TICKETS_READ = "tickets:read"
    TICKETS_WRITE = "tickets:write"
    ADMIN = "admin"
    # Posting raw mail to /api/v1/mail/inbound (a mail server's key).
    MAIL_INBOUND = "mail:inbound"


ALL_SCOPES = frozenset(Scope)
# What a person signed in (a token, a console session, an AK/SK pair) may do: everything their
# role allows, but never post mail as a mail server (that would let them write as anyone). Only an
# API key given the mail:inbound scope may.
PERSON_SCOPES = frozenset(scope for scope in Scope if scope is not Scope.MAIL_INBOUND)
DEFAULT_KEY_SCOPES = frozenset({Scope.TICKETS_READ, Scope.TICKETS_WRITE})


@dataclass(frozen=True)
class Principal:
    tenant_id: int
    user_id: int
    role: Role
    scopes: frozenset[str] = field(default_factory=lambda: frozenset(PERSON_SCOPES))
    # Identifies the credential for per-client bookkeeping (idempotency keys, limits).
    credential_id: str = ""

    @property
    def is_customer(self) -> bool:
        return self.role is Role.CUSTOMER

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.ADMIN, Role.AGENT)

    def has_scope(self, scope: Scope) -> bool:
        return scope.value in self.scopes
