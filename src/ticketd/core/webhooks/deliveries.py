"""Deliveries: claiming due attempts, recording what came of them, retrying, and the delivery log.

A worker claims due deliveries by setting a lease in a conditional update (a row another worker
claimed in the meantime no longer matches), sends, and records each outcome with the lease
released. A worker killed after sending and before recording leaves the lease to run out; another
worker sends again: delivery is at least once, and receivers deduplicate on `webhook-id`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from ticketd.core.clock import utcnow
from ticketd.core.errors import Conflict, FieldError, InvalidInput, NotFound
from ticketd.core.signing_keys import Sealer
from ticketd.core.text import made_storable
from ticketd.core.webhooks.endpoints import get_endpoint, signing_secrets
from ticketd.core.webhooks.fanout import PENDING, announce, wants
from ticketd.core.webhooks.messages import EventType
from ticketd.store.tables import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookMessage

SUCCEEDED = "succeeded"
FAILED = "failed"
MAX_RESPONSE_CHARS = 1024
CLAIM_LIMIT = 200


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    endpoint_id: str
    url: str
    message_id: str
    payload: str
    secrets: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    endpoint_id: str
    at: datetime
    latency_ms: int
    status_code: int | None = None
    response: str = ""
    error: str | None = None
    # From a 429 or 503's Retry-After: the earliest the receiver wants the next attempt.
    retry_after_seconds: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class Policy:
    retry_delays: Sequence[float]
    disable_after: timedelta
    lease: timedelta


def any_due(db: Session) -> bool:
    now = utcnow()
    query = (
        select(WebhookDelivery.id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookEndpoint.disabled.is_(False),
            WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.lease_expires_at.is_(None), WebhookDelivery.lease_expires_at < now),
        )
        .limit(1)
    )
    return db.scalar(query) is not None


def claim(
    db: Session,
    sealer: Sealer,
    *,
    owner: str,
    lease: timedelta,
    free: Mapping[str, int],
    capacity: int,
    limit: int = CLAIM_LIMIT,
) -> list[Claimed]:
    """Due deliveries of enabled endpoints, at most `free[endpoint]` (else `capacity`) per endpoint,
    leased to `owner`. The caller commits."""
    now = utcnow()
    due = (
        select(WebhookDelivery.id, WebhookDelivery.endpoint_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.lease_expires_at.is_(None), WebhookDelivery.lease_expires_at < now),
            WebhookEndpoint.disabled.is_(False),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    exhausted = [endpoint for endpoint, slots in free.items() if slots <= 0]
    if exhausted:
        due = due.where(WebhookDelivery.endpoint_id.not_in(exhausted))
    taken: dict[str, int] = defaultdict(int)
    chosen: list[int] = []
    for delivery_id, endpoint_id in db.execute(due):
        # One endpoint's backlog takes only its own slots: the rest go to the others.
        if taken[endpoint_id] < free.get(endpoint_id, capacity) and len(chosen) < limit:
            taken[endpoint_id] += 1
            chosen.append(delivery_id)
    if not chosen:
        return []
    claimed_ids = db.scalars(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id.in_(chosen),
            WebhookDelivery.status == PENDING,
            or_(WebhookDelivery.lease_expires_at.is_(None), WebhookDelivery.lease_expires_at < now),
        )
        .values(lease_owner=owner, lease_expires_at=now + lease)
        .returning(WebhookDelivery.id)
        .execution_options(synchronize_session=False)
    ).all()
    if not claimed_ids:
        return []
    rows = db.execute(
        select(
            WebhookDelivery.id,
            WebhookDelivery.message_id,
            WebhookDelivery.endpoint_id,
            WebhookMessage.payload,
        )
        .join(WebhookMessage, WebhookMessage.id == WebhookDelivery.message_id)
        .where(WebhookDelivery.id.in_(claimed_ids))
    ).all()
    endpoints = {
        endpoint.id: endpoint
        for endpoint in db.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.id.in_({row.endpoint_id for row in rows}))
        )
    }
    secrets_of = {key: tuple(signing_secrets(endpoint, sealer, now)) for key, endpoint in endpoints.items()}
    return [
        Claimed(
            delivery_id, endpoint_id, endpoints[endpoint_id].url, message_id, payload, secrets_of[endpoint_id]
        )
        for delivery_id, message_id, endpoint_id, payload in rows
    ]


def record(db: Session, *, owner: str, outcomes: Sequence[Outcome], policy: Policy) -> list[str]:
    """Records attempts, schedules retries or ends deliveries, and disables endpoints that asked for
    it (410 Gone) or have failed everything for `policy.disable_after`. Returns the disabled
    endpoints' ids. The caller commits.

    Successes, nearly all of them, are written set-wise (one insert, one update); failures one by
    one, since each has its own schedule and may disable its endpoint."""
    ids = [outcome.delivery_id for outcome in outcomes]
    known = dict(
        db.execute(
            select(WebhookDelivery.id, WebhookDelivery.tenant_id).where(WebhookDelivery.id.in_(ids))
        ).all()
    )
    # Purged, or its endpoint deleted, while the attempt was out: nothing to record.
    outcomes = [outcome for outcome in outcomes if outcome.delivery_id in known]
    if not outcomes:
        return []
    db.execute(
        insert(WebhookAttempt),
        [
            {
                "tenant_id": known[outcome.delivery_id],
                "delivery_id": outcome.delivery_id,
                "at": outcome.at,
                "status_code": outcome.status_code,
                "latency_ms": outcome.latency_ms,
                # A receiver may answer anything (a NUL, which PostgreSQL's text refuses): kept as
                # the store can hold it, never refused, so one reply cannot spoil a batch.
                "response": made_storable(outcome.response[:MAX_RESPONSE_CHARS]),
                "error": made_storable(outcome.error[:500]) if outcome.error else None,
            }
            for outcome in outcomes
        ],
    )
    succeeded = [outcome for outcome in outcomes if outcome.succeeded]
    if succeeded:
        # Only what is still this worker's: another that took a delivery over decides by its own attempt.
        db.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id.in_([outcome.delivery_id for outcome in succeeded]),
                WebhookDelivery.lease_owner == owner,
                WebhookDelivery.status == PENDING,
            )
            .values(
                status=SUCCEEDED,
                finished_at=max(outcome.at for outcome in succeeded),
                attempts=WebhookDelivery.attempts + 1,
                lease_owner=None,
                lease_expires_at=None,
            )
            .execution_options(synchronize_session=False)
        )
        db.execute(
            update(WebhookEndpoint)
            .where(
                WebhookEndpoint.id.in_({outcome.endpoint_id for outcome in succeeded}),
                WebhookEndpoint.failing_since.is_not(None),
            )
            .values(failing_since=None)
            .execution_options(synchronize_session=False)
        )
    failed = [outcome for outcome in outcomes if not outcome.succeeded]
    return _record_failures(db, owner, failed, policy) if failed else []


def _record_failures(db: Session, owner: str, failed: Sequence[Outcome], policy: Policy) -> list[str]:
    disabled: list[str] = []
    deliveries = {
        row.id: row
        for row in db.scalars(
            select(WebhookDelivery).where(WebhookDelivery.id.in_([outcome.delivery_id for outcome in failed]))
        )
    }
    endpoints = {
        row.id: row
        for row in db.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.id.in_({outcome.endpoint_id for outcome in failed}))
        )
    }
    for outcome in failed:
        delivery = deliveries[outcome.delivery_id]
        if delivery.lease_owner != owner or delivery.status != PENDING:
            continue
        delivery.lease_owner, delivery.lease_expires_at = None, None
        delivery.attempts += 1
        _schedule_retry(delivery, outcome, policy)
        endpoint = endpoints.get(outcome.endpoint_id)
        if endpoint is None or endpoint.disabled:
            continue
        if endpoint.failing_since is None:
            endpoint.failing_since = outcome.at
        reason = None
        if outcome.status_code == 410:
            reason = "the endpoint answered 410 Gone"
        elif outcome.at - endpoint.failing_since >= policy.disable_after:
            reason = f"every attempt failed since {endpoint.failing_since.isoformat()}"
        if reason is not None:
            _disable(db, endpoint, reason, outcome.at)
            disabled.append(endpoint.id)
    db.flush()
    return disabled


def _schedule_retry(delivery: WebhookDelivery, outcome: Outcome, policy: Policy) -> None:
    delays = policy.retry_delays
    if delivery.attempts >= len(delays):
        delivery.status, delivery.finished_at, delivery.next_attempt_at = FAILED, outcome.at, None
        return
    delay = delays[delivery.attempts]
    if outcome.retry_after_seconds is not None:
        # Honoured, up to the schedule's longest wait (an hour at least): a receiver cannot park a
        # message for ever.
        delay = max(delay, min(outcome.retry_after_seconds, max(3600.0, *delays)))
    delivery.next_attempt_at = outcome.at + timedelta(seconds=delay)


def _disable(db: Session, endpoint: WebhookEndpoint, reason: str, now: datetime) -> None:
    endpoint.disabled, endpoint.disabled_reason = True, reason
    endpoint.updated_at, endpoint.version = now, endpoint.version + 1
    announce(
        db,
        tenant_id=endpoint.tenant_id,
        event_type=EventType.WEBHOOK_DISABLED,
        # The id and the host only: receivers often keep a secret in the URL's path or query.
        data={
            "endpoint_id": endpoint.id,
            "host": urlsplit(endpoint.url).netloc.rpartition("@")[2],
            "reason": reason,
        },
        exclude_endpoint=endpoint.id,
    )


@dataclass(frozen=True)
class AttemptView:
    delivery_id: int
    message_id: str
    event_type: str
    delivery_status: str
    attempt_id: int | None
    at: datetime | None
    status_code: int | None
    latency_ms: int | None
    response: str | None
    error: str | None
    next_attempt_at: datetime | None


def delivery_log(
    db: Session, *, tenant_id: int, endpoint_id: str, limit: int, before: int | None = None
) -> list[AttemptView]:
    """The endpoint's newest `limit` deliveries (older than delivery `before`), newest first, each
    with all its attempts (a pending one without any). Paged by delivery, not by row, so a page never
    ends inside a delivery's attempts: the next page starts before the last delivery of this one."""
    get_endpoint(db, tenant_id=tenant_id, endpoint_id=endpoint_id)
    page = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.tenant_id == tenant_id, WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    if before is not None:
        page = page.where(WebhookDelivery.id < before)
    query = (
        select(WebhookDelivery, WebhookMessage.type, WebhookAttempt)
        .join(WebhookMessage, WebhookMessage.id == WebhookDelivery.message_id)
        .outerjoin(WebhookAttempt, WebhookAttempt.delivery_id == WebhookDelivery.id)
        .where(WebhookDelivery.id.in_(page.scalar_subquery()))
        .order_by(WebhookDelivery.id.desc(), WebhookAttempt.id.desc())
    )
    views = []
    for delivery, event_type, attempt in db.execute(query):
        views.append(
            AttemptView(
                delivery_id=delivery.id,
                message_id=delivery.message_id,
                event_type=event_type,
                delivery_status=delivery.status,
                attempt_id=attempt.id if attempt else None,
                at=attempt.at if attempt else None,
                status_code=attempt.status_code if attempt else None,
                latency_ms=attempt.latency_ms if attempt else None,
                response=attempt.response if attempt else None,
                error=attempt.error if attempt else None,
                next_attempt_at=delivery.next_attempt_at,
            )
        )
    return views


def redeliver(db: Session, *, tenant_id: int, endpoint_id: str, message_id: str) -> WebhookDelivery:
    """The message sent to the endpoint again, now, with a fresh set of retries."""
    endpoint = get_endpoint(db, tenant_id=tenant_id, endpoint_id=endpoint_id)
    message = db.get(WebhookMessage, message_id)
    if message is None or message.tenant_id != tenant_id:
        raise NotFound(f"message {message_id} does not exist")
    if not wants(endpoint, message.type):
        # As replay does: an endpoint gets only the types it subscribes to.
        raise Conflict(f"the endpoint does not subscribe to {message.type} messages")
    return _requeue(db, endpoint, message_id, utcnow())


def replay(db: Session, *, tenant_id: int, endpoint_id: str, since: datetime) -> int:
    """Every message since `since` the endpoint wants and has not received, queued again (failed
    ones, and those made while it was disabled). Returns how many."""
    endpoint = get_endpoint(db, tenant_id=tenant_id, endpoint_id=endpoint_id)
    now = utcnow()
    if since > now:
        raise InvalidInput("since is in the future", [FieldError("/since", "must not be in the future")])
    done = select(WebhookDelivery.message_id).where(
        WebhookDelivery.endpoint_id == endpoint.id,
        or_(WebhookDelivery.status == SUCCEEDED, WebhookDelivery.status == PENDING),
    )
    candidates = db.execute(
        select(WebhookMessage.id, WebhookMessage.type).where(
            WebhookMessage.tenant_id == tenant_id,
            WebhookMessage.created_at >= since,
            WebhookMessage.id.not_in(done),
        )
    ).all()
    count = 0
    for message_id, event_type in candidates:
        if wants(endpoint, event_type):
            _requeue(db, endpoint, message_id, now)
            count += 1
    return count


def _requeue(db: Session, endpoint: WebhookEndpoint, message_id: str, now: datetime) -> WebhookDelivery:
    delivery = db.scalars(
        select(WebhookDelivery).where(
            and_(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.message_id == message_id)
        )
    ).first()
    if delivery is None:
        delivery = WebhookDelivery(
            tenant_id=endpoint.tenant_id, message_id=message_id, endpoint_id=endpoint.id, created_at=now
        )
        db.add(delivery)
    delivery.status, delivery.attempts, delivery.next_attempt_at = PENDING, 0, now
    delivery.finished_at = None
    db.flush()
    return delivery


def purge_finished_messages(db: Session, *, created_before: datetime, batch: int = 10_000) -> int:
    """Messages older than the cut-off with no delivery still pending, with their deliveries and
    attempts (the delivery log keeps what the operations keep). Returns how many messages."""
    still_pending = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.message_id == WebhookMessage.id, WebhookDelivery.status == PENDING)
        .exists()
    )
    old = list(
        db.scalars(
            select(WebhookMessage.id)
            .where(WebhookMessage.created_at < created_before, ~still_pending)
            .limit(batch)
        )
    )
    if not old:
        return 0
    their_deliveries = select(WebhookDelivery.id).where(WebhookDelivery.message_id.in_(old))
    db.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(their_deliveries)))
    db.execute(delete(WebhookDelivery).where(WebhookDelivery.message_id.in_(old)))
    db.execute(delete(WebhookMessage).where(WebhookMessage.id.in_(old)))
    return len(old)
