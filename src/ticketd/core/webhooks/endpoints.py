"""A tenant's webhook endpoints: where messages go, which types, and the secrets that sign them.

A secret is `whsec_` and the base64 of 32 random bytes, shown once when made or rotated and kept
sealed (core/signing_keys.Sealer, with the endpoint's id bound in). After a rotation the previous
secret signs too for an overlap, so a receiver can switch without losing a message.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketd.core.clock import utcnow
from ticketd.core.errors import FieldError, InvalidInput, NotFound
from ticketd.core.signing_keys import Sealer
from ticketd.core.text import require_storable
from ticketd.core.webhooks.addresses import checked_url
from ticketd.core.webhooks.fanout import start_listening
from ticketd.core.webhooks.messages import EVENT_TYPES
from ticketd.store.tables import Tenant, WebhookEndpoint

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
MAX_DESCRIPTION_CHARS = 500
MAX_ENDPOINTS_PER_TENANT = 50


@dataclass(frozen=True)
class EndpointChanges:
    url: str | None = None
    events: Sequence[str] | None = None
    description: str | None = None
    disabled: bool | None = None


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key a `whsec_` secret stands for."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def create_endpoint(
    db: Session,
    sealer: Sealer,
    *,
    tenant_id: int,
    url: str,
    events: Sequence[str] = (),
    description: str = "",
    allow_private: bool,
) -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its secret (returned only here)."""
    checked_events, checked_description = _checked_events(events), _checked_description(description)
    # Last of the checks: it may ask DNS, and the cheap ones answer first. Before the lock below,
    # so that no tenant's creates wait on a slow resolver.
    usable_url = checked_url(url, allow_private=allow_private)
    # Concurrent creates count one after another: the tenant's row is locked until this commits
    # (PostgreSQL; SQLite's writers are one at a time already).
    db.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())
    count = len(db.scalars(select(WebhookEndpoint.id).where(WebhookEndpoint.tenant_id == tenant_id)).all())
    if count >= MAX_ENDPOINTS_PER_TENANT:
        raise InvalidInput(f"a tenant has at most {MAX_ENDPOINTS_PER_TENANT} webhook endpoints")
    now = utcnow()
    endpoint_id = "ep_" + secrets.token_urlsafe(15)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        id=endpoint_id,
        tenant_id=tenant_id,
        url=usable_url,
        events=checked_events,
        description=checked_description,
        secret_sealed=sealer.seal(secret, endpoint_id),
        previous_secret_sealed=None,
        previous_secret_until=None,
        disabled=False,
        disabled_reason=None,
        failing_since=None,
        created_at=now,
        updated_at=now,
        version=1,
    )
    # The fan-out reads the log from here on if nobody listened: this endpoint's first change is after.
    start_listening(db)
    db.add(endpoint)
    db.flush()
    return endpoint, secret


def get_endpoint(db: Session, *, tenant_id: int, endpoint_id: str) -> WebhookEndpoint:
    endpoint = db.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.tenant_id != tenant_id:
        raise NotFound(f"webhook endpoint {endpoint_id} does not exist")
    return endpoint


def list_endpoints(db: Session, *, tenant_id: int) -> list[WebhookEndpoint]:
    query = select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant_id)
    return list(db.scalars(query.order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)))


def update_endpoint(
    db: Session, *, tenant_id: int, endpoint_id: str, changes: EndpointChanges, allow_private: bool
) -> WebhookEndpoint:
    endpoint = get_endpoint(db, tenant_id=tenant_id, endpoint_id=endpoint_id)
    if changes.url is not None:
        endpoint.url = checked_url(changes.url, allow_private=allow_private)
    if changes.events is not None:
        endpoint.events = _checked_events(changes.events)
    if changes.description is not None:
        endpoint.description = _checked_description(changes.description)
    if changes.disabled is not None and changes.disabled != endpoint.disabled:
        if not changes.disabled:
            start_listening(db)
        endpoint.disabled = changes.disabled
        endpoint.disabled_reason = "disabled by an admin" if changes.disabled else None
        # Enabled again: its failures so far no longer count toward disabling it.
        endpoint.failing_since = None
    endpoint.updated_at = utcnow()
    endpoint.version += 1
    db.flush()
    return endpoint


def delete_endpoint(db: Session, *, tenant_id: int, endpoint_id: str) -> None:
    db.delete(get_endpoint(db, tenant_id=tenant_id, endpoint_id=endpoint_id))
    db.flush()


def rotate_secret(
    db: Session, sealer: Sealer, *, tenant_id: int, endpoint_id: str, overlap: timedelta
) -> tuple[WebhookEndpoint, str]:
    """A new secret; the one it replaces still signs until the overlap ends."""
    endpoint = get_endpoint(db, tenant_id=tenant_id, endpoint_id=endpoint_id)
    secret = new_secret()
    now = utcnow()
    endpoint.previous_secret_sealed = endpoint.secret_sealed
    endpoint.previous_secret_until = now + overlap
    endpoint.secret_sealed = sealer.seal(secret, endpoint.id)
    endpoint.updated_at = now
    endpoint.version += 1
    db.flush()
    return endpoint, secret


def signing_secrets(endpoint: WebhookEndpoint, sealer: Sealer, now: datetime) -> list[str]:
    """The secrets that sign a message to this endpoint now: the current, then the previous one
    while its overlap lasts."""
    found = [sealer.open(bytes(endpoint.secret_sealed), endpoint.id)]
    if (
        endpoint.previous_secret_sealed is not None
        and endpoint.previous_secret_until is not None
        and now < endpoint.previous_secret_until
    ):
        found.append(sealer.open(bytes(endpoint.previous_secret_sealed), endpoint.id))
    return [secret for secret in found if secret is not None]


def _checked_events(events: Sequence[str]) -> list[str]:
    unknown = [name for name in events if name not in EVENT_TYPES]
    if unknown:
        raise InvalidInput(
            "unknown event types",
            [
                FieldError(
                    "/events",
                    f"unknown: {', '.join(sorted(unknown))}; known: {', '.join(sorted(EVENT_TYPES))}",
                )
            ],
        )
    return sorted(set(events))


def _checked_description(description: str) -> str:
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise InvalidInput(
            "the description is too long",
            [FieldError("/description", f"at most {MAX_DESCRIPTION_CHARS} characters")],
        )
    return require_storable(description, "/description")
