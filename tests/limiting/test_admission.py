"""One request's admission: counted once per request, and fair use keyed by who the client is."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from limits import parse
from sqlalchemy.orm import Session, sessionmaker

from ticketd.core.errors import RateLimited
from ticketd.core.principal import Principal, Role
from ticketd.faces.prioticket.face import limits as prioticket_limits
from ticketd.limiting.admission import Admission, policies_and_state
from ticketd.limiting.config import TenantLimitsCache
from ticketd.limiting.counters import Hit, LocalCounters
from ticketd.limiting.policies import Policy
from ticketd.settings import Settings


async def passed(pending: Awaitable[None] | None) -> None:
    """An admission step awaited where it has to be (see RequestLimits.enter)."""
    if pending is not None:
        await pending


def principal(key: str) -> Principal:
    return Principal(tenant_id=1, user_id=1, role=Role.AGENT, credential_id=f"key:{key}")


@pytest.fixture
def admission(sessions: sessionmaker[Session]) -> Admission:
    return Admission(LocalCounters(), TenantLimitsCache(sessions, 3600))


def test_a_request_is_counted_once_however_often_it_is_admitted(admission: Admission) -> None:
    limits = prioticket_limits(Settings())

    async def scenario() -> None:
        request = admission.request("prioticket", limits, "10.0.0.1")
        await passed(request.enter())
        for _ in range(3):
            await passed(request.admit(principal("a")))
        credential = [hit for policy, hit in request.seen if policy.name == "credential"]
        assert len(credential) == 1

    asyncio.run(scenario())


def test_fair_use_blocks_a_known_client_by_its_credential_and_others_by_ip(admission: Admission) -> None:
    limits = prioticket_limits(Settings())
    assert limits.errors is not None
    quota = limits.errors.quota

    async def failing(key: str | None, ip: str) -> None:
        request = admission.request("prioticket", limits, ip)
        await passed(request.enter())
        if key is not None:
            await passed(request.admit(principal(key)))
        await request.responded(404)

    async def refused(key: str | None, ip: str) -> bool:
        request = admission.request("prioticket", limits, ip)
        try:
            await passed(request.enter())
            if key is not None:
                await passed(request.admit(principal(key)))
        except RateLimited as exc:
            return exc.reason == "blocked"
        return False

    async def scenario() -> None:
        # A verified client's errors block that client, not the address it shares with others.
        for _ in range(quota + 1):
            await failing("a", "10.0.0.1")
        assert await refused("a", "10.0.0.2")
        assert not await refused("b", "10.0.0.1")
        assert not await refused(None, "10.0.0.1")
        # Before verification the client is its address.
        for _ in range(quota + 1):
            await failing(None, "10.0.0.3")
        assert await refused(None, "10.0.0.3")
        assert await refused("b", "10.0.0.3")

    asyncio.run(scenario())


def test_counts_in_memory_make_no_coroutine(admission: Admission) -> None:
    """The polled paths' admission in memory: answered at once, nothing to await."""
    from ticketd.faces.native.face import limits as native_limits

    limits = native_limits(Settings())
    request = admission.request("native", limits, "10.0.0.9")
    assert request.enter() is None
    assert [policy.name for policy, _ in request.seen] == ["ip"]


hits = st.builds(
    Hit, st.booleans(), st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=10**6)
)
policy_names = st.sampled_from(["ip", "credential", "daily", "fair-use"])


@given(seen=st.lists(st.tuples(policy_names, hits), min_size=0, max_size=4))
@settings(max_examples=200, deadline=None)
def test_the_polled_paths_fields_are_the_general_ones(seen: list[tuple[str, Hit]]) -> None:
    # header_fields writes out the common two-policy case: it must say what the general rule says.
    limits = prioticket_limits(Settings())
    # An unbound sessionmaker: the fields read no tenant's limits.
    admission = Admission(LocalCounters(), TenantLimitsCache(sessionmaker(), 3600))
    request = admission.request("prioticket", limits, "10.0.0.1")
    request.seen = [(Policy(name, parse("10/minute")), hit) for name, hit in seen]
    fields = request.header_fields()
    if not seen:
        assert fields == []
        return
    policies, state = policies_and_state(request.seen)
    assert fields == [
        (b"ratelimit-policy", ", ".join(policy.header for policy in policies).encode()),
        (b"ratelimit", state),
    ]
