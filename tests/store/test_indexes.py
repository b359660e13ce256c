"""The listings and lookups stay index-backed: no query the API issues scans the tickets table."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.dialects import sqlite

from ticketd.core.lifecycle import Status
from ticketd.core.principal import Principal, Role
from ticketd.core.tickets import TicketFilter, filter_conditions
from ticketd.settings import Settings
from ticketd.store.driver_reads import KEY_AND_TICKET_SQL, SQLITE_HINT, SQLITE_KEY_HINT
from ticketd.store.engine import build_engine
from ticketd.store.migrate import upgrade
from ticketd.store.tables import Ticket

STAFF = Principal(tenant_id=1, user_id=1, role=Role.AGENT)
CUSTOMER = Principal(tenant_id=1, user_id=7, role=Role.CUSTOMER)


def _plan(tmp_path: Path, sql: str, params: tuple[object, ...] = ()) -> str:
    engine = build_engine(Settings(database_path=tmp_path / "plan.sqlite3"))
    upgrade(engine)
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).all()
    engine.dispose()
    return "\n".join(str(row[-1]) for row in rows)


def _listing_sql(principal: Principal, filters: TicketFilter) -> str:
    query = (
        select(Ticket.id)
        .where(*filter_conditions(principal, filters))
        .order_by(Ticket.updated_at.desc(), Ticket.id.desc())
        .limit(50)
    )
    return str(query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))


def test_status_lookup_reads_only_the_covering_index(tmp_path: Path) -> None:
    sql = KEY_AND_TICKET_SQL.format(p="?", hint=SQLITE_HINT, key_hint=SQLITE_KEY_HINT)
    plan = _plan(tmp_path, sql, (1, "tk_x"))
    assert "COVERING INDEX ix_tickets_status_lookup" in plan
    assert "COVERING INDEX ix_api_keys_verify" in plan


def test_listings_use_indexes(tmp_path: Path) -> None:
    cases = {
        "by updated": (STAFF, TicketFilter()),
        "by status": (STAFF, TicketFilter(status=[Status.OPEN])),
        "by requester": (STAFF, TicketFilter(requester_id=3)),
        "a customer's own": (CUSTOMER, TicketFilter()),
        "by tag": (STAFF, TicketFilter(tag="vip")),
        "by assignee": (STAFF, TicketFilter(assignee_id=2)),
    }
    for name, (principal, filters) in cases.items():
        plan = _plan(tmp_path, _listing_sql(principal, filters))
        assert "SCAN t" not in plan.replace("SCAN tickets", "SCAN t"), f"{name}:\n{plan}"
        assert "USING" in plan, f"{name}:\n{plan}"
