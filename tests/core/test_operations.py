from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import World, count_rows
from ticketd.core import operations
from ticketd.core.clock import utcnow
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import Operation, OperationPart


def _finished(db: Session, world: World, days_ago: float, parent: int | None = None) -> int:
    when = utcnow() - timedelta(days=days_ago)
    row = Operation(
        tenant_id=world.tenant_id,
        parent_id=parent,
        kind="export",
        status="completed",
        version=1,
        progress_done=0,
        params={},
        created_at=when,
        finished_at=when,
    )
    db.add(row)
    db.flush()
    db.add(OperationPart(operation_id=row.id, seq=0, data=b"file"))
    return row.id


def test_finished_operations_are_purged_with_their_files_after_the_retention(
    sessions: sessionmaker[Session], world: World
) -> None:
    with unit_of_work(sessions, write=True) as db:
        old = _finished(db, world, days_ago=8)
        _finished(db, world, days_ago=8, parent=old)
        recent = _finished(db, world, days_ago=1)
        db.commit()
    with unit_of_work(sessions, write=True) as db:
        assert operations.purge_finished(db, finished_before=utcnow() - timedelta(days=7)) == 1
        db.commit()
    with unit_of_work(sessions, write=False) as db:
        assert db.get(Operation, old) is None
        assert db.get(Operation, recent) is not None
    engine = sessions.kw["bind"]
    assert count_rows(engine, "operations") == 1
    assert count_rows(engine, "operation_parts") == 1
