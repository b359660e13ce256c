"""Tables that would only grow are purged: idempotency records past their lifetime, expired tokens."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import World, count_rows
from ticketd.core.clock import utcnow
from ticketd.core.worker import Worker
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import AccessToken, IdempotencyRecord


def test_the_worker_purges_old_idempotency_records_and_expired_tokens(
    sessions: sessionmaker[Session], world: World
) -> None:
    now = utcnow()
    with unit_of_work(sessions, write=True) as db:
        for key, age in (("old", timedelta(days=2)), ("new", timedelta(hours=1))):
            db.add(
                IdempotencyRecord(
                    client=world.agent.principal.credential_id or "key:x",
                    key=key,
                    request_digest="d",
                    completed=True,
                    created_at=now - age,
                )
            )
        for digest, expires in (
            (b"e" * 32, now - timedelta(minutes=1)),
            (b"l" * 32, now + timedelta(hours=1)),
        ):
            db.add(
                AccessToken(
                    digest=digest,
                    face="prioticket",
                    api_key_id=world.agent.key_id,
                    tenant_id=world.tenant_id,
                    scope="s",
                    created_at=now - timedelta(hours=1),
                    expires_at=expires,
                    revoked_at=None,
                )
            )
        db.commit()
    purged = Worker(sessions, idempotency_ttl=timedelta(days=1)).purge()
    assert (purged.idempotency_records, purged.access_tokens) == (1, 1)
    engine = sessions.kw["bind"]
    assert count_rows(engine, "idempotency_records") == 1
    assert count_rows(engine, "access_tokens") == 1
