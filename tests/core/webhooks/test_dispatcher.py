"""The delivering loop's idle rounds on the embedded default: the store is read after a commit,
and otherwise only as often as something can fall due with time."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from ticketd.core import identity
from ticketd.core.webhooks import dispatcher as dispatching
from ticketd.core.webhooks import fanout
from ticketd.core.webhooks.dispatcher import IDLE_RECHECK_SECONDS, WebhookDispatcher
from ticketd.settings import Settings
from ticketd.store.engine import build_engine, session_factory, unit_of_work
from ticketd.store.migrate import upgrade


def test_idle_rounds_read_the_store_after_a_commit_and_once_the_recheck_is_due(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(database_path=tmp_path / "ticketd.sqlite3", webhook_retry_schedule="0,5,300")
    engine = build_engine(settings)
    upgrade(engine)
    sessions = session_factory(engine)
    reads: list[int] = []
    real = fanout.news_for_fan_out

    def counted(db: Session) -> bool:
        reads.append(1)
        return real(db)

    monkeypatch.setattr(dispatching, "news_for_fan_out", counted)
    clock = [1000.0]
    monkeypatch.setattr("ticketd.store.commit_signal.time.monotonic", lambda: clock[0])
    dispatcher = WebhookDispatcher(sessions, settings, ("a server key",), "test")
    # Once a second with the default schedule (the shortest retry delay is 5 s).
    assert dispatcher._commits._recheck_seconds == IDLE_RECHECK_SECONDS

    def rounds(n: int) -> int:
        before = len(reads)
        for _ in range(n):
            assert dispatcher._store_turn([], {}) == (0, [])
            clock[0] += 0.1
        return len(reads) - before

    assert rounds(1) == 1, "the first round looks (and starts the fan-out's cursor: a commit)"
    assert rounds(5) == 1, "one look after that commit, then nothing committed"
    with unit_of_work(sessions, write=True) as db:
        identity.create_tenant(db, slug="acme", name="Acme")
        db.commit()
    assert rounds(5) == 1, "a commit: one look"
    assert rounds(10) == 1, "a second went by: one look for what fell due meanwhile"
    engine.dispose()


def test_the_shortest_retry_delay_bounds_the_recheck(tmp_path: Path) -> None:
    settings = Settings(database_path=tmp_path / "ticketd.sqlite3", webhook_retry_schedule="0,0.2,5")
    dispatcher = WebhookDispatcher(session_factory(build_engine(settings)), settings, ("a key",), "test")
    assert dispatcher._commits._recheck_seconds == 0.2
