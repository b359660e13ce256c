"""Searching tickets' text through the index (SQLite) or the table (PostgreSQL): the same answers
before and after the worker indexes new tickets, after a subject or content changes and after a
delete; short strings, quotes and wildcard characters taken literally."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import World
from ticketd.core import tickets
from ticketd.store.engine import unit_of_work
from ticketd.store.text_index import index_new_tickets


def _found(sessions: sessionmaker[Session], world: World, wanted: str) -> list[str]:
    with unit_of_work(sessions, write=False) as db:
        page = tickets.list_tickets(
            db, world.agent.principal, tickets.TicketFilter(text=wanted), limit=50, cursor=None
        )
        return sorted(ticket.subject for ticket in page.items)


def _create(sessions: sessionmaker[Session], world: World, subject: str, content: str = "") -> int:
    with unit_of_work(sessions, write=True) as db:
        ticket = tickets.create_ticket(
            db, world.customer.principal, tickets.Changes(values={"subject": subject, "content": content})
        )
        db.commit()
        return ticket.id


def test_searches_answer_alike_before_and_after_indexing(
    sessions: sessionmaker[Session], world: World
) -> None:
    printer = _create(sessions, world, "Printer on floor 3 jams", "Paper tray 2")
    _create(sessions, world, "VPN drops", 'It says "timeout" 100% of the time_')
    _create(sessions, world, "Another tenant's word: printer")
    queries = {
        "printer": ["Another tenant's word: printer", "Printer on floor 3 jams"],
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
    assert indexed == (3 if dialect == "sqlite" else 0)
    assert {query: _found(sessions, world, query) for query in queries} == queries

    # An indexed ticket's subject changes: the index follows at once.
    with unit_of_work(sessions, write=True) as db:
        tickets.update_ticket(
            db, world.agent.principal, printer, tickets.Changes(values={"subject": "Scanner on floor 3"})
        )
        db.commit()
    assert _found(sessions, world, "scanner") == ["Scanner on floor 3"]
    assert _found(sessions, world, "printer") == ["Another tenant's word: printer"]
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
            "Another tenant's word: printer",
            "Fresh printer trouble",
        ]
