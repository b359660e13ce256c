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


ALL_SCOPES = frozenset(Scope)
DEFAULT_KEY_SCOPES = frozenset({Scope.TICKETS_READ, Scope.TICKETS_WRITE})


@dataclass(frozen=True)
class Principal:
    tenant_id: int
    user_id: int
    role: Role
    scopes: frozenset[str] = field(default_factory=lambda: frozenset(ALL_SCOPES))
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
