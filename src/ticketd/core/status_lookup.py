"""The hot path's one question: what is the status of this ticket, as this caller may see it."""

from __future__ import annotations

from typing import NamedTuple

from ticketd.core.errors import Forbidden, NotFound
from ticketd.core.etags import ticket_etag
from ticketd.core.principal import Principal, Scope
from ticketd.store.rows import StoredTime, TicketStatusRow

READ = Scope.TICKETS_READ.value


class StatusView(NamedTuple):
    # A tuple rather than a frozen dataclass: built on every lookup, and cheaper to build.
    ticket_id: int
    status: str
    version: int
    updated_at: StoredTime  # as the driver read it; faces format it (fast_reads.to_datetime)

    @property
    def etag(self) -> str:
        return ticket_etag(self.ticket_id, self.version)


def visible_status(principal: Principal, ticket_id: int, row: TicketStatusRow | None) -> StatusView:
    """The ticket's status if this principal may see it, from the row FastReader read."""
    if READ not in principal.scopes:
        raise Forbidden("the credential lacks the tickets:read scope")
    # Another tenant's ticket, or another customer's, answers exactly as a missing one.
    if (
        row is None
        or row.tenant_id != principal.tenant_id
        or (principal.is_customer and row.requester_id != principal.user_id)
    ):
        raise NotFound(f"ticket {ticket_id} does not exist")
    return StatusView(ticket_id, row.status, row.version, row.updated_at)
