"""The one definition of a ticket's fields, and everything that must agree with it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import World
from ticketd.core import tickets
from ticketd.core.events import EventKind
from ticketd.core.importer import ImportRow
from ticketd.core.ticket_fields import CLASSIFICATION, CUSTOMER_SETTABLE, FIELDS, IMPORT_COLUMNS, SETTABLE
from ticketd.store.bulk import CREATED_EVENT, VALUE_COLUMNS, NewTicket, insert_tickets
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import Ticket


def test_every_field_is_a_ticket_attribute() -> None:
    for field in FIELDS:
        assert hasattr(Ticket, field.name), field.name


def test_imports_take_exactly_the_import_columns() -> None:
    assert set(ImportRow.model_fields) == set(IMPORT_COLUMNS)


def test_what_customers_and_create_forms_set_is_settable() -> None:
    assert set(SETTABLE) >= CUSTOMER_SETTABLE
    assert set(SETTABLE) >= CLASSIFICATION


def test_a_field_with_choices_takes_its_words_and_nothing_else() -> None:
    chosen = [field for field in FIELDS if field.choices is not None]
    assert {field.name for field in chosen} == {"priority", "type", "channel"}
    for field in chosen:
        assert field.choices is not None
        for member in field.choices:
            assert tickets.checked_value(field, member.value) == member.value
        for wrong in ("no such word", None, 3):
            with pytest.raises(ValueError, match="must be one of"):
                tickets.checked_value(field, wrong)


def test_the_store_writes_the_created_event_core_names() -> None:
    assert EventKind.CREATED.value == CREATED_EVENT


def test_a_bulk_insert_puts_every_value_in_its_own_column(
    sessions: sessionmaker[Session], world: World
) -> None:
    # Each text column gets a value naming it: a value that landed in another column shows.
    values = {name: f"value of {name}" for name in VALUE_COLUMNS}
    new = NewTicket(
        subject="bulk",
        status="open",
        priority="high",
        type="task",
        channel="web",
        created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        requester_id=world.customer.user_id,
        creator_id=world.agent.user_id,
        values=values,
        tags=["b", "a"],
    )
    with unit_of_work(sessions, write=True) as db:
        (ticket_id,) = insert_tickets(db, world.tenant_id, [new])
        db.commit()
    with unit_of_work(sessions, write=False) as db:
        ticket = db.get(Ticket, ticket_id)
        assert ticket is not None
        assert {name: getattr(ticket, name) for name in VALUE_COLUMNS} == values
        assert (ticket.subject, ticket.status, ticket.priority, ticket.type, ticket.channel) == (
            "bulk",
            "open",
            "high",
            "task",
            "web",
        )
        assert ticket.requester_id == world.customer.user_id and ticket.creator_id == world.agent.user_id
        assert ticket.tags == ["a", "b"] and ticket.cc == [] and ticket.custom_fields == {}
        assert ticket.created_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
