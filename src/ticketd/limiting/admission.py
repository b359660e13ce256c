"""Admitting a request: by client IP before anything else, then, once it is known who is calling,
by credential and by the tenant's quota.

Credentials are counted only once verified: counting what a request merely claims would let anyone
who knows a key's id spend its quota.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NoReturn

from ticketd.core.errors import RateLimited
from ticketd.core.principal import Principal
from ticketd.limiting.config import FaceLimits, TenantLimitsCache
from ticketd.limiting.counters import Counters, Hit
from ticketd.limiting.policies import Policy
from ticketd.telemetry.metrics import RATE_LIMIT_REFUSALS

WHOLE_DAY = "00:00 - 24:00"


class Admission:
    def __init__(self, counters: Counters, tenants: TenantLimitsCache) -> None:
        self.counters = counters
        self.tenants = tenants

    def request(self, face: str, limits: FaceLimits, ip: str) -> RequestLimits:
        return RequestLimits(self, face, limits, ip)


class RequestLimits:
    """One request's standing: the policies it was counted against, and how much each has left."""

    __slots__ = ("admission", "admitted", "face", "ip", "limits", "refused", "seen")

    def __init__(self, admission: Admission, face: str, limits: FaceLimits, ip: str) -> None:
        self.admission = admission
        self.face = face
        self.limits = limits
        self.ip = ip
        self.seen: list[tuple[Policy, Hit]] = []
        # Set when a limit refused this request: its own 429 does not count as a client error.
        self.refused = False
        # The credential this request was counted for: a layer that admits the caller early (an
        # idempotent replay) and the route after it count the request once.
        self.admitted: str | None = None

    @property
    def client(self) -> str:
        """Who fair use counts: the verified credential once there is one, the IP before."""
        return self.admitted if self.admitted is not None else f"ip:{self.ip}"

    def block_key(self, client: str) -> str:
        return f"block/{self.face}/{client}"

    def enter_now(self) -> bool:
        """`enter` without a coroutine where no count has to wait (limits in memory, no fair-use
        policy): True when done (raises RateLimited); False: await `enter`. The polled paths pay
        for every await, about half a microsecond each."""
        limits = self.limits
        if limits.errors is not None:
            return False
        # The count and `_record` written out: calls fewer on every polled request.
        policy = limits.ip
        hit = self.admission.counters.hit_now(policy, self.face, "ip", self.ip)
        if hit is None:
            return False
        self.seen.append((policy, hit))
        if not hit[0]:
            self._refuse(policy, hit)
        return True

    async def enter(self) -> None:
        """The checks every request of the face passes first; raises RateLimited."""
        if self.limits.errors is not None:
            await self._refuse_if_blocked(f"ip:{self.ip}")
        await self.count(self.limits.ip, self.face, "ip", self.ip)

    async def _refuse_if_blocked(self, client: str) -> None:
        blocked = await self.admission.counters.blocked_for(self.block_key(client))
        if blocked:
            self.refused = True
            RATE_LIMIT_REFUSALS.labels(self.face, "fair-use").inc()
            raise RateLimited(
                f"too many failed requests from this client; blocked for {blocked} s",
                blocked,
                ("fair-use",),
                reason="blocked",
            )

    async def count(self, policy: Policy, *identifiers: str, reset: int | None = None) -> Hit:
        counters = self.admission.counters
        hit = counters.hit_now(policy, *identifiers)
        if hit is None:
            pending = counters.hit_soon(policy, identifiers)
            if pending is None:
                hit = await counters.hit(policy, *identifiers)
            else:
                try:
                    hit = counters.hit_from(policy, await pending)
                except Exception as exc:
                    hit = await counters.hit_failed(exc, policy, identifiers)
        if reset is not None:
            hit = Hit(hit.allowed, hit.remaining, reset)
        return self._record(policy, hit)

    def _record(self, policy: Policy, hit: Hit) -> Hit:
        """Keeps the hit for the RateLimit fields; raises RateLimited if it was refused."""
        self.seen.append((policy, hit))
        if not hit.allowed:
            self._refuse(policy, hit)
        return hit

    def _refuse(self, policy: Policy, hit: Hit) -> NoReturn:
        self.refused = True
        RATE_LIMIT_REFUSALS.labels(self.face, policy.name).inc()
        raise RateLimited(
            f"the {policy.name} limit of {policy.quota} requests per {policy.window} s is reached; "
            f"try again in {hit.reset} s",
            hit.reset,
            (policy.name,),
        )

    def admit_now(self, principal: Principal) -> bool:
        """`admit` without a coroutine when the tenant's limits are in memory and only its
        credential policy applies: True when done (raises RateLimited); False: await `admit`."""
        if self.admitted == principal.credential_id:
            return True
        if self.limits.errors is not None:
            return False
        limits = self.admission.tenants.limits_now(principal.tenant_id, self.face, self.limits)
        if limits is None or not limits.credential_only:
            return False
        policy = limits.credential
        hit = self.admission.counters.hit_now(
            policy, self.face, str(principal.tenant_id), principal.credential_id
        )
        if hit is None:
            return False
        self.admitted = principal.credential_id
        self.seen.append((policy, hit))  # `_record`, written out
        if not hit[0]:
            self._refuse(policy, hit)
        return True

    async def admit(self, principal: Principal) -> None:
        """The caller's credential and tenant, once per request; raises RateLimited."""
        if self.admitted == principal.credential_id:
            return
        self.admitted = principal.credential_id
        if self.limits.errors is not None:
            await self._refuse_if_blocked(principal.credential_id)
        tenants = self.admission.tenants
        limits = tenants.limits_now(principal.tenant_id, self.face, self.limits)
        if limits is None:
            limits = await tenants.limits_for(principal.tenant_id, self.face, self.limits)
        tenant = str(principal.tenant_id)
        hours = limits.service_hours
        hours_text = hours.text if hours is not None else WHOLE_DAY
        if hours is not None:
            local = datetime.now(limits.time_zone)
            if not hours.is_open(local):
                self.refused = True
                RATE_LIMIT_REFUSALS.labels(self.face, "service-hours").inc()
                raise RateLimited(
                    f"outside the service hours {hours_text}",
                    hours.seconds_until_open(local),
                    ("service-hours",),
                    reason="service-hours",
                    service_hours=hours_text,
                )
        await self.count(limits.credential, self.face, tenant, principal.credential_id)
        if limits.ip is not None:
            await self.count(limits.ip, self.face, tenant, "ip", self.ip)
        if limits.daily is not None:
            local = datetime.now(limits.time_zone)
            midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), local.tzinfo)
            until_midnight = max(1, int((midnight - local).total_seconds()))
            try:
                await self.count(
                    limits.daily, self.face, tenant, local.date().isoformat(), reset=until_midnight
                )
            except RateLimited as exc:
                exc.reason = "allowance"
                exc.service_hours = hours_text
                raise

    async def responded(self, status: int) -> None:
        """Fair use: a client error counts towards a block, unless a limit itself refused."""
        errors = self.limits.errors
        if errors is None or not 400 <= status < 500 or self.refused:
            return
        client = self.client
        hit = await self.admission.counters.hit(errors, self.face, "errors", client)
        if not hit.allowed:
            await self.admission.counters.block(self.block_key(client), self.limits.block_seconds)

    def header_fields(self) -> list[tuple[bytes, bytes]]:
        """`RateLimit-Policy` and `RateLimit` for every policy this request was counted against."""
        seen = self.seen
        if len(seen) == 2:
            # The polled paths' pair (the IP's count and the credential's), written out: the
            # comprehensions below are a call each.
            (first, first_hit), (second, second_hit) = seen
            policies: tuple[Policy, ...] = (first, second)
            state = (
                first.state_format % (first_hit[1], first_hit[2])
                + b", "
                + second.state_format % (second_hit[1], second_hit[2])
            )
        elif not seen:
            return []
        else:
            policies = tuple([policy for policy, _ in seen])  # a list first: a generator costs more
            state = b", ".join([policy.state_format % (hit.remaining, hit.reset) for policy, hit in seen])
        header = _POLICY_HEADERS.get(policies)
        if header is None:
            header = ", ".join(policy.header for policy in policies).encode()
            if len(_POLICY_HEADERS) >= POLICY_HEADERS_LIMIT:
                _POLICY_HEADERS.clear()
            _POLICY_HEADERS[policies] = header
        return [(b"ratelimit-policy", header), (b"ratelimit", state)]


# `RateLimit-Policy` by the policies counted: the same few sets on every request.
_POLICY_HEADERS: dict[tuple[Policy, ...], bytes] = {}
POLICY_HEADERS_LIMIT = 1_000
