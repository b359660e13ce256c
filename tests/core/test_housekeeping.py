"""Tables that would only grow are purged: idempotency records past their lifetime, expired tokens."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import World, count_rows
from ticketd.core import attachments, console_sessions
from ticketd.core.clock import utcnow
from ticketd.core.signing_keys import Sealer
from ticketd.core.webhooks import endpoints
from ticketd.core.worker import Worker
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import (
    AccessToken,
    Attachment,
    AttachmentBlob,
    ConsoleSession,
    IdempotencyRecord,
    User,
    WebhookAttempt,
    WebhookDelivery,
    WebhookMessage,
)


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


def test_the_worker_purges_old_webhook_messages_but_not_pending_ones(
    sessions: sessionmaker[Session], world: World, engine: Engine
) -> None:
    now = utcnow()
    with unit_of_work(sessions, write=True) as db:
        endpoint, _ = endpoints.create_endpoint(
            db, Sealer("k" * 40), tenant_id=world.tenant_id, url="https://8.8.8.8/x", allow_private=False
        )
        for name, age, status in (
            ("msg_old_done", timedelta(days=8), "succeeded"),
            ("msg_old_pending", timedelta(days=8), "pending"),
            ("msg_new_done", timedelta(days=1), "failed"),
        ):
            db.add(
                WebhookMessage(
                    id=name,
                    tenant_id=world.tenant_id,
                    type="ticket.created",
                    payload="{}",
                    created_at=now - age,
                )
            )
            db.flush()
            delivery = WebhookDelivery(
                tenant_id=world.tenant_id,
                message_id=name,
                endpoint_id=endpoint.id,
                status=status,
                attempts=1,
                created_at=now - age,
            )
            db.add(delivery)
            db.flush()
            db.add(
                WebhookAttempt(tenant_id=world.tenant_id, delivery_id=delivery.id, at=now - age, latency_ms=1)
            )
        db.commit()
    purged = Worker(sessions, retention=timedelta(days=7)).purge()
    assert purged.webhook_messages == 1
    with unit_of_work(sessions, write=False) as db:
        assert set(db.scalars(select(WebhookMessage.id))) == {"msg_old_pending", "msg_new_done"}
    assert count_rows(engine, "webhook_deliveries") == 2
    assert count_rows(engine, "webhook_attempts") == 2


def test_console_sessions_ended_or_expired_are_purged(sessions: sessionmaker[Session], world: World) -> None:
    now = utcnow()
    with unit_of_work(sessions, write=True) as db:
        user = db.get(User, world.agent.user_id)
        assert user is not None
        live = console_sessions.start(db, user, lifetime=timedelta(hours=1), now=now)
        ended = console_sessions.start(db, user, lifetime=timedelta(hours=1), now=now)
        console_sessions.start(db, user, lifetime=timedelta(hours=1), now=now - timedelta(hours=2))
        console_sessions.end(db, ended)
        db.commit()
        assert console_sessions.purge(db, now=now) == 2
        db.commit()
        assert db.query(ConsoleSession).count() == 1
        assert console_sessions.signed_in(db, live) is not None
        assert console_sessions.signed_in(db, ended) is None


def test_files_uploaded_ahead_and_never_claimed_are_purged_with_their_bytes(
    sessions: sessionmaker[Session], world: World
) -> None:
    limits = attachments.Limits(max_bytes=1000, per_ticket=10, default_quota=10_000)
    with unit_of_work(sessions, write=True) as db:
        for name in ("old.txt", "new.txt"):
            source = io.BytesIO(name.encode())
            file = attachments.IncomingFile(
                name, "text/plain", source, 7, hashlib.sha256(name.encode()).hexdigest()
            )
            attachments.add(db, world.agent.principal, file, limits, ticket_id=None)
        db.execute(
            update(Attachment)
            .where(Attachment.filename == "old.txt")
            .values(created_at=utcnow() - timedelta(hours=25))
        )
        db.commit()
    purged = Worker(sessions, unclaimed_attachments=timedelta(hours=24)).purge()
    assert purged.unclaimed_attachments == 1
    with unit_of_work(sessions, write=False) as db:
        assert list(db.scalars(select(Attachment.filename))) == ["new.txt"]
        assert db.scalar(select(func.count()).select_from(AttachmentBlob)) == 1
