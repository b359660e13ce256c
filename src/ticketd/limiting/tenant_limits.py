"""Setting a tenant's own limits on a face, checked before they are stored."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketd.core.errors import FieldError, InvalidInput
from ticketd.limiting.policies import PolicyError, parse_policy, parse_service_hours
from ticketd.store.tables import Tenant, TenantLimits


def set_tenant_limits(
    db: Session,
    tenant: Tenant,
    face: str,
    *,
    credential: str | None = None,
    ip: str | None = None,
    service_hours: str | None = None,
    daily_allowance: int | None = None,
) -> TenantLimits:
    """Sets what is given and keeps the rest. A daily allowance of 0 means none."""
    errors: list[FieldError] = []
    for pointer, check, value in (
        ("/credential", lambda text: parse_policy("credential", text), credential),
        ("/ip", lambda text: parse_policy("ip", text), ip),
        ("/service_hours", parse_service_hours, service_hours),
    ):
        if value is not None:
            try:
                check(value)
            except PolicyError as exc:
                errors.append(FieldError(pointer, str(exc)))
    if daily_allowance is not None and daily_allowance < 0:
        errors.append(FieldError("/daily_allowance", "0 (none) or more"))
    if errors:
        raise InvalidInput("the limits are not valid", errors)
    row = db.get(TenantLimits, (tenant.id, face))
    if row is None:
        row = TenantLimits(tenant_id=tenant.id, face=face)
        db.add(row)
    if credential is not None:
        row.credential_limit = credential
    if ip is not None:
        row.ip_limit = ip
    if service_hours is not None:
        row.service_hours = service_hours
    if daily_allowance is not None:
        row.daily_allowance = daily_allowance
    db.flush()
    return row


def clear_tenant_limits(db: Session, tenant: Tenant, face: str) -> None:
    row = db.get(TenantLimits, (tenant.id, face))
    if row is not None:
        db.delete(row)
        db.flush()


def tenant_limits(db: Session, tenant: Tenant) -> list[TenantLimits]:
    return list(
        db.scalars(
            select(TenantLimits).where(TenantLimits.tenant_id == tenant.id).order_by(TenantLimits.face)
        )
    )
