"""The hot path's one question: what is the status of this ticket, as this caller may see it."""

from __future__ import annotations

from typing import Any, NamedTuple

from ticketd.core.authenticate import Authenticator, Credential, TicketRow
from ticketd.core.errors import Forbidden, NotFound
from ticketd.core.principal import Principal, Scope

READ = Scope.TICKETS_READ.value


class StatusView(NamedTuple):
    # A tuple rather than a frozen dataclass: built on every lookup, and cheaper to build.
    ticket_id: int
    status: str
    version: int
    updated_at: Any  # the driver's value; faces format it

    @property
    def etag(self) -> str:
        return f'"{self.ticket_id}-{self.version}"'


def lookup_status(authenticator: Authenticator, credential: Credential, ticket_id: int) -> StatusView:
    principal, row = authenticator.authenticate_with_ticket(credential, ticket_id)
    return visible_status(principal, ticket_id, row)


def visible_status(principal: Principal, ticket_id: int, row: TicketRow | None) -> StatusView:
    """The ticket's status if this principal may see it, from the row FastReader read."""
    if READ not in principal.scopes:
        raise Forbidden("the credential lacks the tickets:read scope")
    if not row or row[0] is None:
        raise NotFound(f"ticket {ticket_id} does not exist")
    tenant_id, requester_id, status, version, updated_at = row
    # Another tenant's ticket, or another customer's, answers exactly as a missing one.
    if tenant_id != principal.tenant_id or (principal.is_customer and requester_id != principal.user_id):
        raise NotFound(f"ticket {ticket_id} does not exist")
    return StatusView(ticket_id, status, version, updated_at)
