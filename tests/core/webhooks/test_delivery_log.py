"""The delivery log pages by delivery: every attempt is on exactly one page, however a page ends."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import World
from ticketd.core.clock import utcnow
from ticketd.core.signing_keys import Sealer
from ticketd.core.webhooks import deliveries, endpoints
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import WebhookAttempt, WebhookDelivery, WebhookMessage

# Deliveries with 3, 1, 0 (pending), 4 and 2 attempts, over and over.
ATTEMPTS = [3, 1, 0, 4, 2] * 5


def _log_with_attempts(sessions: sessionmaker[Session], world: World) -> tuple[str, set[int]]:
    now = utcnow()
    with unit_of_work(sessions, write=True) as db:
        endpoint, _ = endpoints.create_endpoint(
            db, Sealer("k" * 40), tenant_id=world.tenant_id, url="https://8.8.8.8/x", allow_private=False
        )
        attempt_ids: set[int] = set()
        for n, attempts in enumerate(ATTEMPTS):
            db.add(
                WebhookMessage(
                    id=f"msg_{n}",
                    tenant_id=world.tenant_id,
                    type="ticket.created",
                    payload="{}",
                    created_at=now,
                )
            )
            db.flush()
            delivery = WebhookDelivery(
                tenant_id=world.tenant_id,
                message_id=f"msg_{n}",
                endpoint_id=endpoint.id,
                status="pending" if attempts == 0 else "succeeded",
                attempts=attempts,
                created_at=now,
            )
            db.add(delivery)
            db.flush()
            for k in range(attempts):
                attempt = WebhookAttempt(
                    tenant_id=world.tenant_id,
                    delivery_id=delivery.id,
                    at=now + timedelta(seconds=k),
                    latency_ms=1,
                )
                db.add(attempt)
                db.flush()
                attempt_ids.add(attempt.id)
        db.commit()
    return endpoint.id, attempt_ids


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 100])
def test_paging_through_the_log_finds_every_attempt_once(
    sessions: sessionmaker[Session], world: World, limit: int
) -> None:
    endpoint_id, attempt_ids = _log_with_attempts(sessions, world)
    seen: Counter[int] = Counter()
    pending: list[int] = []
    before = None
    with unit_of_work(sessions, write=False) as db:
        while True:
            page = deliveries.delivery_log(
                db, tenant_id=world.tenant_id, endpoint_id=endpoint_id, limit=limit, before=before
            )
            if not page:
                break
            assert len({view.delivery_id for view in page}) <= limit
            for view in page:
                if view.attempt_id is None:
                    pending.append(view.delivery_id)
                else:
                    seen[view.attempt_id] += 1
            before = page[-1].delivery_id
    assert set(seen) == attempt_ids
    assert set(seen.values()) == {1}, "no attempt on two pages"
    assert len(pending) == ATTEMPTS.count(0)
