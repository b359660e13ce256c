"""Admitting a request: by client IP before anything else, then, once it is known who is calling,
by credential and by the tenant's quota.

Credentials are counted only once verified: counting what a request merely claims would let anyone
who knows a key's id spend its quota.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import NoReturn

from ticketd.core.errors import RateLimited
from ticketd.core.principal import Principal
from ticketd.limiting.config import FaceLimits, TenantLimitsCache
from ticketd.limiting.counters import Counters, Hit, counted
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

    def enter(self) -> Awaitable[None] | None:
        """The checks every request of the face passes first: None when done, else an awaitable
        to await (a count in Redis, a fair-use block to look up). Raises RateLimited."""
        if self.limits.errors is not None:
            return self._enter_unless_blocked()
        return self.count(self.limits.ip, self.face, "ip", self.ip)

    async def _enter_unless_blocked(self) -> None:
        await self._refuse_if_blocked(f"ip:{self.ip}")
        policy = self.limits.ip
        self._record(policy, await counted(self.admission.counters, policy, self.face, "ip", self.ip))

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

    def count(self, policy: Policy, *identifiers: str) -> Awaitable[None] | None:
        """Counts the request against `policy`: None when counted, else an awaitable to await.
        Raises RateLimited (at once, or from the awaitable)."""
        hit = self.admission.counters.hit(policy, *identifiers)
        if isinstance(hit, Hit):
            self._record(policy, hit)
            return None
        return self._recorded(policy, hit)

    async def _recorded(self, policy: Policy, pending: Awaitable[Hit]) -> None:
        self._record(policy, await pending)

    def _record(self, policy: Policy, hit: Hit) -> None:
        """Keeps the hit for the RateLimit fields; raises RateLimited if it was refused."""
        self.seen.append((policy, hit))
        if not hit[0]:
            self._refuse(policy, hit)

    def _refuse(self, policy: Policy, hit: Hit) -> NoReturn:
        self.refused = True
        RATE_LIMIT_REFUSALS.labels(self.face, policy.name).inc()
        raise RateLimited(
            f"the {policy.name} limit of {policy.quota} requests per {policy.window} s is reached; "
            f"try again in {hit.reset} s",
            hit.reset,
            (policy.name,),
        )

    def admit(self, principal: Principal) -> Awaitable[None] | None:
        """The caller's credential and tenant, once per request: None when done, else an
        awaitable to await. Raises RateLimited."""
        if self.admitted == principal.credential_id:
            return None
        if self.limits.errors is None:
            # Only the credential's policy and its count in memory: no coroutine (the polled paths).
            limits = self.admission.tenants.limits_now(principal.tenant_id, self.face, self.limits)
            if limits is not None and limits.credential_only:
                self.admitted = principal.credential_id
                return self.count(
                    limits.credential, self.face, str(principal.tenant_id), principal.credential_id
                )
        return self._admit_fully(principal)

    async def _admit_fully(self, principal: Principal) -> None:
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
        counters = self.admission.counters
        self._record(
            limits.credential,
            await counted(counters, limits.credential, self.face, tenant, principal.credential_id),
        )
        if limits.ip is not None:
            self._record(limits.ip, await counted(counters, limits.ip, self.face, tenant, "ip", self.ip))
        if limits.daily is not None:
            local = datetime.now(limits.time_zone)
            midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), local.tzinfo)
            until_midnight = max(1, int((midnight - local).total_seconds()))
            hit = await counted(counters, limits.daily, self.face, tenant, local.date().isoformat())
            try:
                self._record(limits.daily, Hit(hit.allowed, hit.remaining, until_midnight))
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
        hit = await counted(self.admission.counters, errors, self.face, "errors", client)
        if not hit.allowed:
            await self.admission.counters.block(self.block_key(client), self.limits.block_seconds)

    def header_fields(self) -> list[tuple[bytes, bytes]]:
        """`RateLimit-Policy` and `RateLimit` for every policy this request was counted against."""
        seen = self.seen
        if len(seen) == 2:
            # The polled paths' pair (the IP's count and the credential's), written out: the
            # comprehensions of `policies_and_state` are a call each. (Both are held to the same
            # answers by tests/limiting/test_admission.py.)
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
            policies, state = policies_and_state(seen)
        header = _POLICY_HEADERS.get(policies)
        if header is None:
            header = ", ".join(policy.header for policy in policies).encode()
            if len(_POLICY_HEADERS) >= POLICY_HEADERS_LIMIT:
                _POLICY_HEADERS.clear()
            _POLICY_HEADERS[policies] = header
        return [(b"ratelimit-policy", header), (b"ratelimit", state)]


def policies_and_state(seen: list[tuple[Policy, Hit]]) -> tuple[tuple[Policy, ...], bytes]:
    """The policies a request was counted against and its `RateLimit` field's value."""
    policies = tuple([policy for policy, _ in seen])  # a list first: a generator costs more
    state = b", ".join([policy.state_format % (hit.remaining, hit.reset) for policy, hit in seen])
    return policies, state


# `RateLimit-Policy` by the policies counted: the same few sets on every request.
_POLICY_HEADERS: dict[tuple[Policy, ...], bytes] = {}
POLICY_HEADERS_LIMIT = 1_000
