"""The tickets' text index on SQLite (migration 0015): the worker adds new tickets to it in
batches, and a search condition reads it for the tickets it covers.

The index covers every ticket with an id up to `ticket_text_progress.indexed_through`; a batch
indexes the next tickets and moves the mark in one write transaction, so no ticket is indexed
twice or skipped (SQLite has one writer at a time, and ids only grow). Changes of subject or
content and deletes of covered tickets are applied by the migration's triggers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, bindparam, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.sqltypes import NullType
from sqlalchemy.sql.visitors import InternalTraversal

from ticketd.store.engine import unit_of_work

BATCH = 5_000
# A trigram index finds substrings this long or longer; shorter ones are looked for row by row.
TRIGRAM = 3

BATCH_END = text(
    "SELECT count(*), max(id) FROM (SELECT id FROM tickets"
    " WHERE id > (SELECT indexed_through FROM ticket_text_progress) ORDER BY id LIMIT :batch)"
)
INDEX_BATCH = text(
    "INSERT INTO tickets_text (rowid, subject, content) SELECT id, subject, content FROM tickets"
    " WHERE id > (SELECT indexed_through FROM ticket_text_progress) AND id <= :through"
)
MOVE_MARK = text("UPDATE ticket_text_progress SET indexed_through = :through")


def index_new_tickets(sessions: sessionmaker[Session], batch: int = BATCH) -> int:
    """Indexes up to `batch` tickets not yet covered; how many. Nothing to do off SQLite."""
    if sessions.kw["bind"].dialect.name != "sqlite":
        return 0
    with unit_of_work(sessions, write=True) as db:
        # The batch's last id, from the tickets themselves (an external-content FTS table reads
        # its rowids from the content table, so it cannot say what it holds).
        count, through = db.execute(BATCH_END, {"batch": batch}).one()
        if not count:
            return 0
        db.execute(INDEX_BATCH, {"through": through})
        db.execute(MOVE_MARK, {"through": through})
        db.commit()
    return int(count)


PROBE = text(
    "SELECT count(*) FROM (SELECT tickets.id FROM tickets_text"
    " JOIN tickets ON tickets.id = tickets_text.rowid"
    " WHERE tickets_text MATCH :phrase AND tickets.tenant_id = :tenant LIMIT :n)"
)


def fts_phrase(wanted: str) -> str:
    """An FTS5 query for `wanted` as one phrase: in double quotes, a quote inside written twice."""
    return '"' + wanted.replace('"', '""') + '"'


def matches_more_than(db: Session, wanted: str, bound: int, *, tenant_id: int) -> bool:
    """Whether the text index names more than `bound` of the tenant's tickets containing `wanted`:
    a probe that stops at `bound` + 1 (a few milliseconds at most; the tenant's, so that a word
    common in another tenant does not change how this one is searched). It chooses how to search,
    never what is found. False off SQLite, where the planner has the statistics to choose."""
    if db.get_bind().dialect.name != "sqlite" or len(wanted) < TRIGRAM:
        return False
    # Once a unit of work: a page that lists and counts asks the same question twice.
    asked: dict[tuple[str, int, int], bool] = db.info.setdefault("text_probes", {})
    key = (wanted, tenant_id, bound)
    if key not in asked:
        found = db.execute(PROBE, {"phrase": fts_phrase(wanted), "tenant": tenant_id, "n": bound + 1})
        asked[key] = int(found.scalar_one()) > bound
    return asked[key]


def counts_first_matches(db: Session) -> bool:
    """Whether a capped count of a text search's tickets should count the first matches the
    trigram indexes name (PostgreSQL) rather than every match: there, counting every ticket that
    holds a common word reads most of the table (a word in 83,000 of a million tickets: 120 ms),
    while the first `cap` + 1 cost the index scans and a slice of the table (50 ms)."""
    return db.get_bind().dialect.name == "postgresql"


SCANS_NOW = text("SELECT current_setting('enable_seqscan'), current_setting('enable_indexscan')")
SET_SCANS = text(
    "SELECT set_config('enable_seqscan', :seq, true), set_config('enable_indexscan', :index, true)"
)


@contextmanager
def through_trigram_indexes(db: Session) -> Iterator[None]:
    """The statements inside, on PostgreSQL, find text through the trigram indexes (a bitmap scan)
    and never by walking the table or an ordered index. With a LIMIT the planner expects matches
    spread evenly and walks the table until it has enough: fast for a word everywhere, the whole
    table for one whose matches are all among the rows it meets last (0.8 s at a million tickets
    for "problem 1", found only among the oldest). The bitmap scan's cost is bounded by the
    matches. Off PostgreSQL, nothing changes. The settings are the transaction's own (a failure
    inside rolls them back with it) and are put back as they were."""
    if db.get_bind().dialect.name != "postgresql":
        yield
        return
    seq, index = db.execute(SCANS_NOW).one()
    db.execute(SET_SCANS, {"seq": "off", "index": "off"})
    yield
    db.execute(SET_SCANS, {"seq": seq, "index": index})


class IndexedText(ColumnElement[bool]):
    """Tickets whose subject or content contains a string: on SQLite, those the text index names
    (an FTS5 trigram phrase is a case-insensitive substring, as the rule is) and, among those it
    does not cover yet, the ones `exact` admits; elsewhere (PostgreSQL) `exact` itself."""

    inherit_cache = True
    # No boolean type: a boolean expression on a store without native booleans is written
    # "(...) = 1", which would keep the planner from starting at the ids.
    type = NullType()  # type: ignore[assignment]
    _traverse_internals = [
        ("phrase", InternalTraversal.dp_clauseelement),
        ("exact", InternalTraversal.dp_clauseelement),
        ("newest", InternalTraversal.dp_plain_obj),
        ("tenant", InternalTraversal.dp_clauseelement),
    ]

    def __init__(
        self, wanted: str, exact: ColumnElement[bool], *, newest: int | None = None, tenant_id: int = 0
    ) -> None:
        """`newest`: only the tenant's newest that many matches in the index (by id), on SQLite; for
        counting a common word's tickets without reading every one of them."""
        self.phrase: BindParameter[str] = bindparam("text_phrase", fts_phrase(wanted), unique=True)
        self.exact = exact
        self.newest = newest
        self.tenant: BindParameter[int] = bindparam("text_tenant", tenant_id, unique=True)


@compiles(IndexedText, "sqlite")
def _sqlite(element: IndexedText, compiler: SQLCompiler, **kw: Any) -> str:
    phrase = compiler.process(element.phrase, **kw)
    # One IN over a set of ids, so the planner starts from that set (a lookup each) rather than
    # read every ticket; the exact rule, inside, applies to the tickets the index does not cover
    # (its `tickets.` names the subquery's own table).
    exact = compiler.process(element.exact, **kw)
    indexed = f"SELECT rowid FROM tickets_text WHERE tickets_text MATCH {phrase}"
    if element.newest is not None:
        # The index yields rowids in order, so the tenant's newest n cost about n entries (and a
        # lookup each for the tenant), not every match.
        tenant = compiler.process(element.tenant, **kw)
        indexed = (
            "SELECT rowid FROM (SELECT tickets_text.rowid AS rowid FROM tickets_text"
            " JOIN tickets AS newest_tickets ON newest_tickets.id = tickets_text.rowid"
            f" WHERE tickets_text MATCH {phrase} AND newest_tickets.tenant_id = {tenant}"
            f" ORDER BY tickets_text.rowid DESC LIMIT {int(element.newest)})"
        )
    return (
        f"tickets.id IN ({indexed}"
        " UNION ALL SELECT id FROM tickets"
        f" WHERE id > (SELECT indexed_through FROM ticket_text_progress) AND ({exact}))"
    )


@compiles(IndexedText)
def _elsewhere(element: IndexedText, compiler: SQLCompiler, **kw: Any) -> str:
    # In parentheses: `exact` is an OR, and the statement around it does not know to group it
    # (without them, `tenant AND subject LIKE x OR content LIKE x` crossed tenants).
    return f"({compiler.process(element.exact, **kw)})"
