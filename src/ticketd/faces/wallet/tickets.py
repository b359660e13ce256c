"""An operation as Wallet shows it: a ticket with `ID`, `Status`/`status`, `createdAt`, `children`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ticketd.core.errors import NotFound
from ticketd.core.principal import Principal
from ticketd.store.fast_reads import FastReader, to_datetime

# ticketd operation status -> Wallet ticket status. Only COMPLETED is published; the rest follow it.
STATUSES = {
    "pending": "PENDING",
    "running": "IN_PROGRESS",
    "completed": "COMPLETED",
    "failed": "FAILED",
    "canceled": "CANCELED",
}


def created_at(value: datetime) -> str:
    """Java's `yyyy-MM-dd HH:mm:ss.S`, in UTC: milliseconds, unpadded, as in the vendor's example."""
    stamp = value.astimezone(UTC)
    return f"{stamp:%Y-%m-%d %H:%M:%S}.{stamp.microsecond // 1000}"


def wallet_ticket(reader: FastReader, principal: Principal, ticket_id: int) -> dict[str, Any]:
    row = reader.operation(ticket_id)
    if row is None:
        raise NotFound(f"ticket {ticket_id} does not exist")
    if row.tenant_id != principal.tenant_id or (
        principal.is_customer and row.created_by != principal.user_id
    ):
        raise NotFound(f"ticket {ticket_id} does not exist")
    shown = STATUSES.get(row.status, row.status.upper())
    stamp = to_datetime(row.created_at)
    assert stamp is not None
    children = {
        str(child_id): {
            "ID": child_id,
            "Status": STATUSES.get(child_status, child_status.upper()),
            "status": STATUSES.get(child_status, child_status.upper()),
        }
        for child_id, child_status in reader.operation_children(ticket_id)
    }
    return {
        "ID": ticket_id,
        "Status": shown,
        "status": shown,
        "createdAt": created_at(stamp),
        "children": children,
    }
