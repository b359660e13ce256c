"""Every ticket's status fields in one compact array indexed by ticket id: what a status mirror holds.

A lookup reads one 24-byte record (24 MB for a million tickets): the same few hundred nanoseconds
at any size, where a statement costs microseconds and, at a million tickets, a walk down a B-tree
whose pages no longer fit the CPU's caches.

Each record is written by one `pack_into` and read by one `unpack_from`; under the GIL neither can
see half of the other, so lookups need no lock while a mirror applies changes.
"""

from __future__ import annotations

import struct
from datetime import datetime
from typing import Any

from ticketd.store.rows import TicketStatusRow
from ticketd.store.tables import to_epoch_micros

# tenant, requester (0: none), version, status code, updated_at (epoch microseconds)
RECORD = struct.Struct("<IIIBxxxq")
SIZE = RECORD.size


class TooLarge(Exception):
    """The tickets do not fit the records' bound; the reason says which setting to raise."""


class StatusRecords:
    def __init__(self, max_bytes: int, highest_id: int | None = None) -> None:
        """Room for ids up to `highest_id` (None: none yet); raises TooLarge beyond `max_bytes`."""
        self.max_tickets = max_bytes // SIZE
        self._statuses: list[str] = []
        self._codes: dict[str, int] = {}
        self.records = bytearray()
        if highest_id is not None:
            if highest_id >= self.max_tickets:
                raise TooLarge(f"ticket ids reach {highest_id:,}, more than TICKETD_STATUS_MIRROR_MB holds")
            self.records = bytearray((highest_id + 1) * SIZE)

    def get(self, ticket_id: int) -> TicketStatusRow | None:
        offset = ticket_id * SIZE
        records = self.records
        if ticket_id < 0 or offset + SIZE > len(records):
            return None
        tenant_id, requester_id, version, code, updated_at = RECORD.unpack_from(records, offset)
        if not tenant_id:
            return None
        return TicketStatusRow(tenant_id, requester_id or None, self._statuses[code], version, updated_at)

    def put(self, ticket_id: int, row: tuple[Any, ...] | None) -> None:
        """`row`: tenant, requester, status, version, updated_at; None (or no tenant) for a deleted ticket."""
        offset = ticket_id * SIZE
        if offset + SIZE > len(self.records):
            self._grow(ticket_id)
        if row is None or row[0] is None:
            RECORD.pack_into(self.records, offset, 0, 0, 0, 0, 0)
            return
        tenant_id, requester_id, status, version, updated_at = row
        code = self._codes.get(status)
        if code is None:
            code = len(self._statuses)
            self._statuses.append(status)
            self._codes[status] = code
        if isinstance(updated_at, datetime):
            updated_at = to_epoch_micros(updated_at)
        try:
            RECORD.pack_into(self.records, offset, tenant_id, requester_id or 0, version, code, updated_at)
        except struct.error as exc:
            raise TooLarge(f"ticket {ticket_id} does not fit a record ({exc})") from exc

    def _grow(self, ticket_id: int) -> None:
        # New tickets: room for an eighth more ids at a time, so the array seldom grows.
        if ticket_id >= self.max_tickets:
            raise TooLarge(f"ticket ids reach {ticket_id:,}, more than TICKETD_STATUS_MIRROR_MB holds")
        wanted = min(ticket_id + 1 + ticket_id // 8, self.max_tickets)
        self.records.extend(bytes(wanted * SIZE - len(self.records)))
