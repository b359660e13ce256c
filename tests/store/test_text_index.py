"""Searching tickets' text through the index (SQLite) or the table (PostgreSQL): the same answers
before and after the worker indexes new tickets, after a subject or content changes and after a
delete; short strings, quotes and wildcard characters taken literally."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import World
from ticketd.core import tickets
from ticketd.store import text_index
from ticketd.store.engine import unit_of_work
from ticketd.store.text_index import index_new_tickets


def _found(sessions: sessionmaker[Session], world: World, wanted: str) -> list[str]:
    with unit_of_work(sessions, write=False) as db:
        page = tickets.list_tickets(
            db, world.agent.principal, tickets.TicketFilter(text=wanted), limit=50, cursor=None
        )
        return sorted(ticket.subject for ticket in page.items)


def _create(
    sessions: sessionmaker[Session], world: World, subject: str, content: str = "", *, outsider: bool = False
) -> int:
    creator = world.outsider if outsider else world.customer
    with unit_of_work(sessions, write=True) as db:
        ticket = tickets.create_ticket(
            db, creator.principal, tickets.Changes(values={"subject": subject, "content": content})
        )
        db.commit()
        return ticket.id


def test_searches_answer_alike_before_and_after_indexing(
    sessions: sessionmaker[Session], world: World
) -> None:
    printer = _create(sessions, world, "Printer on floor 3 jams", "Paper tray 2")
    _create(sessions, world, "VPN drops", 'It says "timeout" 100% of the time_')
    _create(sessions, world, "Another ticket's word: printer")
    # Another tenant's, in its subject and its content: never found (a search's OR once escaped
    # the tenant's condition on PostgreSQL).
    _create(sessions, world, "Printer elsewhere", "printer tray 2", outsider=True)
    queries = {
        "printer": ["Another ticket's word: printer", "Printer on floor 3 jams"],
        "PRINTER ON": ["Printer on floor 3 jams"],
        "tray 2": ["Printer on floor 3 jams"],
        '"timeout"': ["VPN drops"],
        "100%": ["VPN drops"],
        "time_": ["VPN drops"],
        "vp": ["VPN drops"],  # shorter than a trigram: read row by row
        "nothing like this": [],
    }
    before = {query: _found(sessions, world, query) for query in queries}
    assert before == queries
    indexed = 0
    while (added := index_new_tickets(sessions, batch=2)) > 0:
        indexed += added
    dialect = sessions.kw["bind"].dialect.name
    assert indexed == (4 if dialect == "sqlite" else 0)
    assert {query: _found(sessions, world, query) for query in queries} == queries

    # An indexed ticket's subject changes: the index follows at once.
    with unit_of_work(sessions, write=True) as db:
        tickets.update_ticket(
            db, world.agent.principal, printer, tickets.Changes(values={"subject": "Scanner on floor 3"})
        )
        db.commit()
    assert _found(sessions, world, "scanner") == ["Scanner on floor 3"]
    assert _found(sessions, world, "printer") == ["Another ticket's word: printer"]
    # Deleted: gone from the index too.
    with unit_of_work(sessions, write=True) as db:
        tickets.delete_ticket(db, world.agent.principal, printer)
        db.commit()
    assert _found(sessions, world, "floor 3") == []
    assert _found(sessions, world, "tray") == []
    if dialect == "sqlite":
        with unit_of_work(sessions, write=False) as db:
            rows = db.execute(text("SELECT count(*) FROM tickets_text WHERE tickets_text MATCH '\"floor\"'"))
            assert rows.scalar() == 0
        # New tickets after the mark are found before the worker gets to them.
        _create(sessions, world, "Fresh printer trouble")
        assert _found(sessions, world, "printer") == [
            "Another ticket's word: printer",
            "Fresh printer trouble",
        ]


def test_a_common_word_is_found_alike_by_reading_tickets_in_order(
    sessions: sessionmaker[Session], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Text in more than COMMON_TEXT tickets is searched ticket by ticket in the page's order; the
    pages are the same as through the index, old (indexed) and new tickets alike."""
    for n in range(7):
        _create(sessions, world, f"Printer {n} jams" if n % 2 == 0 else f"Scanner {n}", "paper")
    index_new_tickets(sessions)
    _create(sessions, world, "Printer 7, not indexed yet")

    def pages(wanted: str) -> list[list[str]]:
        found, cursor = [], None
        with unit_of_work(sessions, write=False) as db:
            for _ in range(10):  # 8 tickets, 2 a page: more pages than this is a cursor going nowhere
                page = tickets.list_tickets(
                    db, world.agent.principal, tickets.TicketFilter(text=wanted), limit=2, cursor=cursor
                )
                found.append([ticket.subject for ticket in page.items])
                if (cursor := page.next_cursor) is None:
                    return found
        raise AssertionError(f"paging did not end: {found}")

    through_the_index = {wanted: pages(wanted) for wanted in ("printer", "paper", "jams", "nowhere")}
    assert [subject for page in through_the_index["printer"] for subject in page] == [
        "Printer 7, not indexed yet",
        "Printer 6 jams",
        "Printer 4 jams",
        "Printer 2 jams",
        "Printer 0 jams",
    ]
    monkeypatch.setattr(tickets, "COMMON_TEXT", 2)
    tenant_id = world.agent.principal.tenant_id
    with unit_of_work(sessions, write=False) as db:
        on_sqlite = sessions.kw["bind"].dialect.name == "sqlite"
        assert text_index.matches_more_than(db, "printer", 2, tenant_id=tenant_id) is on_sqlite
        # The probe counts the tenant's own tickets: "jams" is common in no other.
        assert not text_index.matches_more_than(db, "jams", 2, tenant_id=world.outsider.principal.tenant_id)
    assert {wanted: pages(wanted) for wanted in through_the_index} == through_the_index


def test_counts_of_a_common_word_are_lower_bounds_unless_another_filter_bounds_them(
    sessions: sessionmaker[Session], world: World
) -> None:
    for n in range(6):
        ticket_id = _create(sessions, world, f"Printer {n}")
        if n < 2:
            with unit_of_work(sessions, write=True) as db:
                tickets.update_ticket(db, world.agent.principal, ticket_id, tickets.Changes(tags=["floor3"]))
                db.commit()
    _create(sessions, world, "Scanner")
    # Newer matches in another tenant: neither counted nor crowding ours out of the newest.
    for n in range(5):
        _create(sessions, world, f"Their printer {n}", outsider=True)
    index_new_tickets(sessions)
    with unit_of_work(sessions, write=False) as db:
        exact = tickets.count_by_status(db, world.agent.principal, tickets.TicketFilter(text="printer"))
        assert exact.by_status["new"] == 6 and not exact.at_least
        capped = tickets.count_by_status(
            db, world.agent.principal, tickets.TicketFilter(text="printer"), cap=3
        )
        # More than the cap: counted among cap + 1 matches (SQLite's newest, the first PostgreSQL's
        # trigram indexes name), each a lower bound.
        assert capped.by_status["new"] == 4 and capped.at_least
        # As many as the cap: all of them, exactly.
        assert tickets.count_by_status(
            db, world.agent.principal, tickets.TicketFilter(text="printer"), cap=6
        ) == tickets.StatusCounts(exact.by_status)
        if sessions.kw["bind"].dialect.name == "postgresql":
            # The planner's settings the count turned off for itself are back as they were.
            settings = "SELECT current_setting('enable_seqscan'), current_setting('enable_indexscan')"
            assert tuple(db.execute(text(settings)).one()) == ("on", "on")
        # A tag bounds the set: counted exactly, the text tested ticket by ticket.
        tagged = tickets.TicketFilter(text="printer", tag="floor3")
        bounded = tickets.count_by_status(db, world.agent.principal, tagged, cap=3)
        assert bounded.by_status["new"] == 2 and not bounded.at_least
