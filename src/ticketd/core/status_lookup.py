"""The hot path's one question: what is the status of this ticket, as this principal may see it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ticketd.core.errors import NotFound
from ticketd.core.principal import Principal
from ticketd.store.fast_reads import FastReader


@dataclass(frozen=True, slots=True)
class StatusView:
    ticket_id: int
    status: str
    version: int
    updated_at: Any  # the driver's value; faces format it

    @property
    def etag(self) -> str:
        return f'"{self.ticket_id}-{self.version}"'


def lookup_status(reader: FastReader, principal: Principal, ticket_id: int) -> StatusView:
    row = reader.ticket_status(ticket_id)
    if row is None:
        raise NotFound(f"ticket {ticket_id} does not exist")
    tenant_id, requester_id, status, version, updated_at = row
    if tenant_id != principal.tenant_id or (principal.is_customer and requester_id != principal.user_id):
        raise NotFound(f"ticket {ticket_id} does not exist")
    return StatusView(ticket_id, status, version, updated_at)
