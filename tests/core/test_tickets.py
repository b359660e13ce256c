from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import World
from ticketd.core import tickets
from ticketd.core.clock import utcnow
from ticketd.core.errors import Forbidden, InvalidInput, InvalidTransition, NotFound, PreconditionFailed
from ticketd.core.lifecycle import Status
from ticketd.core.sla import sla_figures
from ticketd.store.bulk import NewTicket, insert_tickets
from ticketd.store.engine import unit_of_work


def _new(db: Session, world: World, subject: str = "Printer jams", **values: object) -> int:
    ticket = tickets.create_ticket(
        db, world.customer.principal, tickets.Changes(values={"subject": subject, **values})
    )
    db.commit()
    return ticket.id


def test_create_records_requester_creator_and_event(db: Session, world: World) -> None:
    ticket_id = _new(db, world)
    ticket = tickets.get_ticket(db, world.agent.principal, ticket_id)
    assert ticket.status == "new"
    assert ticket.requester_id == world.customer.user_id
    assert ticket.creator_id == world.customer.user_id
    events = tickets.list_events(db, world.agent.principal, ticket_id)
    assert [(e.kind, e.new_value) for e in events] == [("created", "new")]


def test_other_tenants_and_other_customers_see_nothing(db: Session, world: World) -> None:
    ticket_id = _new(db, world)
    for outsider in (world.outsider, world.customer2):
        with pytest.raises(NotFound) as caught:
            tickets.get_ticket(db, outsider.principal, ticket_id)
        with pytest.raises(NotFound) as missing:
            tickets.get_ticket(db, outsider.principal, 999_999)
        assert str(caught.value).replace(str(ticket_id), "N") == str(missing.value).replace("999999", "N")


def test_update_logs_old_and_new_values_and_bumps_version(db: Session, world: World) -> None:
    ticket_id = _new(db, world)
    before = tickets.get_ticket(db, world.agent.principal, ticket_id).version
    tickets.update_ticket(
        db,
        world.agent.principal,
        ticket_id,
        tickets.Changes(
            values={"priority": "high"}, assignee_ids=[world.agent.user_id], tags=["vip", "printer"]
        ),
    )
    db.commit()
    ticket = tickets.get_ticket(db, world.agent.principal, ticket_id)
    assert ticket.version == before + 1
    assert ticket.assignee_ids == [world.agent.user_id]
    assert ticket.tags == ["printer", "vip"]
    changes = [
        (e.field, e.old_value, e.new_value)
        for e in tickets.list_events(db, world.agent.principal, ticket_id)
        if e.kind == "field_changed"
    ]
    assert ("priority", "normal", "high") in changes
    assert ("tags", [], ["printer", "vip"]) in changes
    assert ("assignee_ids", [], [world.agent.user_id]) in changes


def test_update_with_stale_etag_fails(db: Session, world: World) -> None:
    ticket_id = _new(db, world)
    with pytest.raises(PreconditionFailed):
        tickets.update_ticket(
            db,
            world.agent.principal,
            ticket_id,
            tickets.Changes(values={"priority": "low"}),
            if_match='"0-0"',
        )


def test_lifecycle_is_enforced_and_times_kept(db: Session, world: World) -> None:
    ticket_id = _new(db, world)
    agent = world.agent.principal
    tickets.transition(db, agent, ticket_id, Status.OPEN)
    tickets.transition(db, agent, ticket_id, Status.SOLVED)
    ticket = tickets.transition(db, agent, ticket_id, Status.CLOSED)
    assert ticket.solved_at is not None and ticket.closed_at is not None
    assert ticket.solver_id == agent.user_id and ticket.closer_id == agent.user_id
    with pytest.raises(InvalidTransition):
        tickets.transition(db, agent, ticket_id, Status.OPEN)
    reopened = tickets.transition(db, agent, ticket_id, Status.OPEN, reopen=True)
    assert reopened.status == "open" and reopened.reopened_at is not None


def test_customers_cannot_do_staff_work(db: Session, world: World) -> None:
    ticket_id = _new(db, world)
    customer = world.customer.principal
    with pytest.raises(Forbidden):
        tickets.transition(db, customer, ticket_id, Status.SOLVED)
    with pytest.raises(InvalidInput):
        tickets.update_ticket(db, customer, ticket_id, tickets.Changes(values={"priority": "urgent"}))
    with pytest.raises(Forbidden):
        tickets.add_comment(db, customer, ticket_id, body="psst", public=False)
    tickets.transition(db, customer, ticket_id, Status.CANCELED)


def test_internal_comments_are_hidden_from_customers(db: Session, world: World) -> None:
    ticket_id = _new(db, world)
    tickets.add_comment(db, world.agent.principal, ticket_id, body="Hello!", public=True)
    tickets.add_comment(db, world.agent.principal, ticket_id, body="Looks like user error", public=False)
    db.commit()
    assert [c.body for c in tickets.list_comments(db, world.customer.principal, ticket_id)] == ["Hello!"]
    assert len(tickets.list_comments(db, world.agent.principal, ticket_id)) == 2
    customer_events = tickets.list_events(db, world.customer.principal, ticket_id)
    assert [e.kind for e in customer_events] == ["created", "commented"]


def test_invalid_values_are_reported_per_field(db: Session, world: World) -> None:
    with pytest.raises(InvalidInput) as caught:
        tickets.create_ticket(
            db,
            world.agent.principal,
            tickets.Changes(values={"subject": "x", "priority": "whenever", "progress": 400}),
        )
    assert {e.pointer for e in caught.value.errors} == {"/priority", "/progress"}


def test_event_log_is_append_only(db: Session, world: World) -> None:
    _new(db, world)
    with pytest.raises(DBAPIError):
        db.execute(text("UPDATE ticket_events SET kind = 'forged'"))
    db.rollback()
    with pytest.raises(DBAPIError):
        db.execute(text("DELETE FROM ticket_events"))
    db.rollback()


def test_list_filters_and_cursor_pagination(db: Session, world: World) -> None:
    ids = [_new(db, world, f"ticket {n}") for n in range(7)]
    agent = world.agent.principal
    tickets.update_ticket(db, agent, ids[0], tickets.Changes(tags=["red"], assignee_ids=[agent.user_id]))
    tickets.transition(db, agent, ids[1], Status.OPEN)
    db.commit()
    seen: list[int] = []
    cursor = None
    while True:
        page = tickets.list_tickets(db, agent, tickets.TicketFilter(), limit=3, cursor=cursor)
        assert page.total == 7
        seen += [t.id for t in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 7
    assert seen[:2] == [ids[1], ids[0]]  # most recently updated first
    by_tag = tickets.list_tickets(db, agent, tickets.TicketFilter(tag="red"), limit=10, cursor=None)
    assert [t.id for t in by_tag.items] == [ids[0]]
    by_assignee = tickets.list_tickets(
        db, agent, tickets.TicketFilter(assignee_id=agent.user_id), limit=10, cursor=None
    )
    assert [t.id for t in by_assignee.items] == [ids[0]]
    by_status = tickets.list_tickets(
        db, agent, tickets.TicketFilter(status=[Status.OPEN]), limit=10, cursor=None
    )
    assert [t.id for t in by_status.items] == [ids[1]]
    by_text = tickets.list_tickets(db, agent, tickets.TicketFilter(text="ticket 4"), limit=10, cursor=None)
    assert [t.id for t in by_text.items] == [ids[4]]
    outsider = tickets.list_tickets(
        db, world.outsider.principal, tickets.TicketFilter(), limit=10, cursor=None
    )
    assert outsider.total == 0
    with pytest.raises(InvalidInput):
        tickets.list_tickets(db, agent, tickets.TicketFilter(), limit=3, cursor="not-a-cursor")


def test_sla_figures_come_from_the_event_log(db: Session, world: World) -> None:
    ticket_id = _new(db, world)
    agent = world.agent.principal
    tickets.transition(db, agent, ticket_id, Status.OPEN)
    tickets.add_comment(db, agent, ticket_id, body="On it", public=True)
    tickets.transition(db, agent, ticket_id, Status.PENDING)
    tickets.transition(db, agent, ticket_id, Status.SOLVED)
    db.commit()
    events = tickets.list_events(db, agent, ticket_id)
    created = events[0].at
    # Re-time the log in memory to check the arithmetic with round numbers.
    offsets = {
        "created": 0,
        "status_changed:open": 60,
        "commented": 120,
        "status_changed:pending": 300,
        "status_changed:solved": 900,
    }
    for event in events:
        label = event.kind if event.kind != "status_changed" else f"status_changed:{event.new_value}"
        event.at = created + timedelta(seconds=offsets[label])
    figures = sla_figures(
        events,
        requester_id=world.customer.user_id,
        staff_ids={agent.user_id},
        now=created + timedelta(seconds=2000),
    )
    db.rollback()
    assert figures.response_time == 120
    assert figures.resolution_time == 900
    assert figures.handling_time == 240
    assert figures.waiting_time == 600


def test_a_deleted_tickets_id_is_never_handed_out_again(
    sessions: sessionmaker[Session], world: World
) -> None:
    with unit_of_work(sessions, write=True) as db:
        first = tickets.create_ticket(db, world.agent.principal, tickets.Changes(values={"subject": "a"}))
        tickets.add_comment(db, world.agent.principal, first.id, body="private note", public=False)
        db.commit()
        deleted = first.id
    with unit_of_work(sessions, write=True) as db:
        tickets.delete_ticket(db, world.agent.principal, deleted)
        db.commit()
    with unit_of_work(sessions, write=True) as db:
        # Another tenant's next tickets, through the API's path and the bulk path.
        created = tickets.create_ticket(
            db, world.outsider.principal, tickets.Changes(values={"subject": "b"})
        )
        (imported,) = insert_tickets(
            db,
            world.outsider.principal.tenant_id,
            [
                NewTicket(
                    subject="c",
                    status="new",
                    priority="normal",
                    type="question",
                    channel="api",
                    created_at=utcnow(),
                    requester_id=None,
                    creator_id=None,
                )
            ],
        )
        db.commit()
        assert deleted < created.id < imported
        assert tickets.list_events(db, world.outsider.principal, created.id)[0].kind == "created"
        assert len(tickets.list_events(db, world.outsider.principal, created.id)) == 1


def test_counts_by_status_are_exact_or_capped(db: Session, world: World) -> None:
    for n in range(7):
        ticket_id = _new(db, world, f"Count me {n}")
        if n < 3:
            tickets.transition(db, world.agent.principal, ticket_id, Status.OPEN)
            db.commit()
    with_tag = _new(db, world, "Tagged")
    tickets.update_ticket(db, world.agent.principal, with_tag, tickets.Changes(tags=["vpn"]))
    db.commit()
    everything = tickets.count_by_status(db, world.agent.principal, tickets.TicketFilter()).by_status
    assert everything["new"] == 5 and everything["open"] == 3 and everything["solved"] == 0
    capped = tickets.count_by_status(db, world.agent.principal, tickets.TicketFilter(), cap=2).by_status
    assert capped["new"] == 3 and capped["open"] == 3 and capped["pending"] == 0  # 3 = "more than 2"
    # The status filter is set aside (the counts are of every status); the others hold.
    only_open = tickets.TicketFilter(status=[Status.OPEN], tag="vpn")
    assert tickets.count_by_status(db, world.agent.principal, only_open).by_status == {
        s.value: 0 for s in Status
    } | {"new": 1}
    mine = tickets.TicketFilter(requester_id=world.customer.user_id)
    assert sum(tickets.count_by_status(db, world.customer2.principal, mine).by_status.values()) == 0
    everyone = tickets.count_by_status(db, world.outsider.principal, tickets.TicketFilter())
    assert sum(everyone.by_status.values()) == 0
