"""The native face shows every field of a ticket and takes every field a caller may set."""

from __future__ import annotations

from ticketd.core.ticket_fields import FIELDS, SETTABLE
from ticketd.faces.native.schemas import TicketFields, TicketOut, TicketPatch


def test_every_field_is_shown() -> None:
    assert {field.name for field in FIELDS} <= set(TicketOut.model_fields)


def test_every_settable_field_is_taken() -> None:
    assert set(SETTABLE) <= set(TicketFields.model_fields) | set(TicketPatch.model_fields)
