"""Tickets: create, read, list, change, move through the lifecycle, comment. Every change is logged.

In four modules, one concern each: `commands` (what changes a ticket), `queries` (what reads them,
and the counts by status), `values` (a caller's values checked against core/ticket_fields.FIELDS)
and `history` (the event log each change writes). Callers use the names below.
"""

from __future__ import annotations

from ticketd.core.tickets.commands import (
    Changes,
    add_comment,
    create_ticket,
    delete_ticket,
    transition,
    update_ticket,
)
from ticketd.core.tickets.queries import (
    COMMON_TEXT,
    Page,
    StatusCounts,
    TicketFilter,
    count_by_status,
    count_comments,
    etag_of,
    filter_conditions,
    get_ticket,
    list_comments,
    list_events,
    list_tickets,
    visible_conditions,
)
from ticketd.core.tickets.values import checked_value, checked_values

__all__ = [
    "COMMON_TEXT",
    "Changes",
    "Page",
    "StatusCounts",
    "TicketFilter",
    "add_comment",
    "checked_value",
    "checked_values",
    "count_by_status",
    "count_comments",
    "create_ticket",
    "delete_ticket",
    "etag_of",
    "filter_conditions",
    "get_ticket",
    "list_comments",
    "list_events",
    "list_tickets",
    "transition",
    "update_ticket",
    "visible_conditions",
]
