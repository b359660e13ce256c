"""Which limits apply: each face's defaults (from the settings), and each tenant's own (from the store).

A tenant's limits are read from the store into memory and read again every few seconds, so a
change made on one host reaches every process without a request ever waiting on the store for it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, tzinfo

from limits import RateLimitItemPerDay
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ticketd.limiting.policies import Policy, PolicyError, ServiceHours, parse_policy, parse_service_hours
from ticketd.settings import Settings
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import TenantLimits

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FaceLimits:
    """A face's defaults, and how it shows its limits."""

    ip: Policy
    credential: Policy
    # Fair use: a client whose responses in the 4xx range exceed this is blocked for `block_seconds`.
    errors: Policy | None = None
    block_seconds: int = 60
    service_hours: ServiceHours | None = None
    daily_allowance: int | None = None
    # The zone of the service hours and of the day an allowance counts in.
    time_zone: tzinfo = UTC
    # Whether responses carry RateLimit-Policy and RateLimit (the native face).
    headers: bool = False


@dataclass(frozen=True)
class TenantFaceLimits:
    """What applies to one tenant's authenticated requests on one face."""

    credential: Policy
    # The tenant's own per-IP limit, counted per tenant on top of the face's.
    ip: Policy | None
    service_hours: ServiceHours | None
    daily: Policy | None
    time_zone: tzinfo

    @property
    def credential_only(self) -> bool:
        """Only the credential's policy applies: no tenant IP limit, service hours or allowance."""
        return self.ip is None and self.service_hours is None and self.daily is None


def face_limits(
    settings: Settings,
    face: str,
    *,
    ip: str | None = None,
    rolling_ip: bool = False,
    errors: str | None = None,
    service_hours: str | None = None,
    daily_allowance: int | None = None,
    time_zone: tzinfo = UTC,
    headers: bool = False,
) -> FaceLimits:
    """A face's defaults: its `TICKETD_FACE_LIMITS` entry, else the face's own, else the global ones."""
    own = settings.face_limits.get(face, {})
    # Fair use is where a face documents it (errors given): only there can its threshold change.
    unknown = own.keys() - {"ip", "credential", *(("errors",) if errors else ())}
    if unknown:
        raise PolicyError(f"TICKETD_FACE_LIMITS for {face}: unknown keys {', '.join(sorted(unknown))}")
    error_text = own.get("errors", errors)
    return FaceLimits(
        ip=parse_policy("ip", own.get("ip", ip or settings.limit_ip), rolling=rolling_ip),
        credential=parse_policy("credential", own.get("credential", settings.limit_credential)),
        errors=parse_policy("errors", error_text, rolling=True) if error_text else None,
        service_hours=parse_service_hours(service_hours) if service_hours else None,
        daily_allowance=daily_allowance or None,
        time_zone=time_zone,
        headers=headers,
    )


def daily_policy(allowance: int) -> Policy:
    return Policy("daily", RateLimitItemPerDay(allowance))


def resolve(defaults: FaceLimits, row: TenantLimits | None) -> TenantFaceLimits:
    credential, ip = defaults.credential, None
    hours, allowance = defaults.service_hours, defaults.daily_allowance
    if row is not None:
        if row.credential_limit:
            credential = parse_policy("credential", row.credential_limit)
        if row.ip_limit:
            ip = parse_policy("tenant-ip", row.ip_limit, rolling=defaults.ip.rolling)
        if row.service_hours:
            hours = parse_service_hours(row.service_hours)
        if row.daily_allowance is not None:
            allowance = row.daily_allowance or None
    if hours is not None and hours.whole_day:
        hours = None
    return TenantFaceLimits(
        credential=credential,
        ip=ip,
        service_hours=hours,
        daily=daily_policy(allowance) if allowance else None,
        time_zone=defaults.time_zone,
    )


class TenantLimitsCache:
    def __init__(self, sessions: sessionmaker[Session], refresh_seconds: float) -> None:
        self._sessions = sessions
        self._refresh_seconds = refresh_seconds
        self._rows: dict[tuple[int, str], TenantLimits] = {}
        self._resolved: dict[tuple[int, str], TenantFaceLimits] = {}
        self._loaded_at = float("-inf")
        self._reloading = False

    def limits_now(self, tenant_id: int, face: str, defaults: FaceLimits) -> TenantFaceLimits | None:
        """The tenant's limits when they need no reading from the store first; else None."""
        if time.monotonic() - self._loaded_at >= self._refresh_seconds:
            return None
        return self._resolved.get((tenant_id, face))

    async def limits_for(self, tenant_id: int, face: str, defaults: FaceLimits) -> TenantFaceLimits:
        if time.monotonic() - self._loaded_at >= self._refresh_seconds and not self._reloading:
            # Read on a thread, so a slow or failing store never holds the event loop; requests
            # meanwhile use what was read before.
            self._reloading = True
            try:
                await asyncio.to_thread(self._reload)
            finally:
                self._reloading = False
        key = (tenant_id, face)
        resolved = self._resolved.get(key)
        if resolved is None:
            resolved = self._resolve(defaults, self._rows.get(key))
            self._resolved[key] = resolved
        return resolved

    def _resolve(self, defaults: FaceLimits, row: TenantLimits | None) -> TenantFaceLimits:
        try:
            return resolve(defaults, row)
        except PolicyError as exc:
            # Rows are checked when written; one that is not valid (written by hand) is logged
            # and the face's defaults apply.
            log.error(
                "ignoring the limits of tenant %s on %s: %s", row and row.tenant_id, row and row.face, exc
            )
            return resolve(defaults, None)

    def _reload(self) -> None:
        try:
            with unit_of_work(self._sessions, write=False) as db:
                rows = list(db.scalars(select(TenantLimits)))
                db.expunge_all()
        except Exception:
            # The store is failing: keep what was read before, try again at the next refresh.
            log.exception("could not read tenant limits; keeping the previous ones")
            self._loaded_at = time.monotonic()
            return
        self._rows = {(row.tenant_id, row.face): row for row in rows}
        self._resolved = {}
        self._loaded_at = time.monotonic()


def check_settings(settings: Settings) -> None:
    """Every limit in the settings can be read; raises PolicyError naming the variable that cannot."""
    for variable, check in (
        ("TICKETD_LIMIT_IP", lambda: parse_policy("ip", settings.limit_ip)),
        ("TICKETD_LIMIT_CREDENTIAL", lambda: parse_policy("credential", settings.limit_credential)),
        ("TICKETD_ONECLOUD_SERVICE_HOURS", lambda: parse_service_hours(settings.onecloud_service_hours)),
    ):
        try:
            check()
        except PolicyError as exc:
            raise PolicyError(f"{variable}: {exc}") from exc
    if settings.redis_url and not settings.redis_url.startswith(("redis://", "rediss://")):
        raise PolicyError(f"TICKETD_REDIS_URL: {settings.redis_url!r} is not a redis:// or rediss:// URL")
