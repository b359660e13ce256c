"""Counts in Redis as operators run it: exact across processes whatever URL redis-py is given (TLS
with the operator's own certificate authority, an ACL user and password, a unix socket), counted
the way requests count them, and on in memory while Redis is away."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy.orm import sessionmaker

from tests.redis_server import AclUser, OwnRedis
from ticketd.core.errors import RateLimited
from ticketd.limiting.admission import Admission
from ticketd.limiting.config import FaceLimits, TenantLimitsCache
from ticketd.limiting.counters import Counters, Hit
from ticketd.limiting.policies import Policy, parse_policy
from ticketd.limiting.shared_counters import SharedCounters

QUOTA = 100
HITS_A_PROCESS = 80
# One process of a deployment: counts HITS_A_PROCESS requests at once, prints how many were allowed.
COUNTING_PROCESS = f"""
import asyncio, sys
from ticketd.limiting.counters import counted
from ticketd.limiting.policies import parse_policy
from ticketd.limiting.shared_counters import SharedCounters

async def main() -> None:
    counters = SharedCounters(sys.argv[1], sys.argv[2], 5.0)
    policy = parse_policy("credential", "{QUOTA}/minute")
    hits = await asyncio.gather(
        *(counted(counters, policy, "native", "1", "key:p") for _ in range({HITS_A_PROCESS}))
    )
    assert counters.shared, "counted in Redis, not in memory"
    print(sum(hit.allowed for hit in hits))
    await counters.aclose()

asyncio.run(main())
"""


@pytest.fixture(params=["tls", "acl", "unix"])
def operators_redis(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OwnRedis]:
    """A Redis of the test's own as operators run one: behind TLS with a certificate authority of
    the test's own (`rediss://...?ssl_ca_certs=...`), with an ACL user whose password needs quoting
    and the default user off, or on a unix socket."""
    kind = request.param
    if kind == "tls":
        own = OwnRedis(tmp_path, tls=True)
    elif kind == "acl":
        own = OwnRedis(tmp_path, user=AclUser("ticketd-limits", "p@ss:w/rd%"))
    else:
        own = OwnRedis(tmp_path, unix=True)
    own.start()
    try:
        yield own
    finally:
        own.stop()


def test_two_processes_count_exactly(operators_redis: OwnRedis) -> None:
    url = operators_redis.url
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", COUNTING_PROCESS, url, "shared"], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    allowed = []
    for process in processes:
        output, _ = process.communicate(timeout=60)
        assert process.returncode == 0
        allowed.append(int(output))
    assert sum(allowed) == QUOTA
    with redis.Redis.from_url(url) as client:
        (key,) = client.keys("shared:*")
        assert client.get(key) == str(2 * HITS_A_PROCESS).encode()


def test_a_refused_password_fails_open_and_says_why(tmp_path: Path) -> None:
    own = OwnRedis(tmp_path, user=AclUser("ticketd-limits", "right"))
    own.start()
    try:

        async def scenario() -> None:
            counters = SharedCounters(own.url.replace(":right@", ":wrong@"), "t", 1.0)
            assert (await _counted(counters, parse_policy("credential", "3/minute"), "key:w")).allowed
            assert not counters.shared
            problem = await counters.check()
            assert problem is not None and "password" in problem.lower()
            await counters.aclose()

        asyncio.run(scenario())
    finally:
        own.stop()


async def _counted(counters: Counters, policy: Policy, key: str) -> Hit:
    """A hit counted as a request counts it (`RequestLimits.count`), refused or not."""
    limits = FaceLimits(parse_policy("ip", "1000/minute"), parse_policy("credential", "1000/minute"))
    # The tenants' limits are not read by a count: a store is never reached.
    request = Admission(counters, TenantLimitsCache(sessionmaker(), 3600)).request(
        "native", limits, "10.0.0.1"
    )
    with contextlib.suppress(RateLimited):
        pending = request.count(policy, "native", "1", key)
        if pending is not None:
            await pending
    return request.seen[-1][1]


def test_requests_count_in_redis_exactly_across_counters(redis_url: str, redis_prefix: str) -> None:
    policy = parse_policy("credential", "4/minute")

    async def scenario() -> None:
        first = SharedCounters(redis_url, redis_prefix, 1)
        second = SharedCounters(redis_url, redis_prefix, 1)
        # Counted at once from both, as concurrent requests of two processes are.
        hits = await asyncio.gather(
            *(_counted(first if n % 2 else second, policy, "key:r") for n in range(6))
        )
        assert sorted(hit.allowed for hit in hits) == [False, False, True, True, True, True]
        assert sorted(hit.remaining for hit in hits) == [0, 0, 0, 1, 2, 3]
        assert all(55 <= hit.reset <= 60 for hit in hits)
        await first.aclose()
        await second.aclose()

    asyncio.run(scenario())
    with redis.Redis.from_url(redis_url) as client:
        assert client.get(f"{redis_prefix}:" + policy.key_for(("native", "1", "key:r"))) == b"6"


def test_requests_count_on_when_redis_forgets_the_script(redis_url: str, redis_prefix: str) -> None:
    policy = parse_policy("credential", "3/minute")

    async def scenario() -> None:
        counters = SharedCounters(redis_url, redis_prefix, 1)
        verdicts = [(await _counted(counters, policy, "key:f")).allowed]
        with redis.Redis.from_url(redis_url) as client:
            client.script_flush()
        # Several at once: each NOSCRIPT is answered by redis-py's script support, counted once.
        hits = await asyncio.gather(*(_counted(counters, policy, "key:f") for _ in range(3)))
        verdicts += sorted((hit.allowed for hit in hits), reverse=True)
        assert verdicts == [True, True, True, False]
        assert counters.shared, "an unknown script is not Redis failing"
        await counters.aclose()

    asyncio.run(scenario())
    with redis.Redis.from_url(redis_url) as client:
        assert client.get(f"{redis_prefix}:" + policy.key_for(("native", "1", "key:f"))) == b"4"


def test_requests_count_in_memory_while_redis_is_away(tmp_path: Path) -> None:
    own = OwnRedis(tmp_path)
    own.start()

    async def scenario() -> None:
        counters = SharedCounters(own.url, "t", 0.25)
        policy = parse_policy("credential", "3/minute")
        assert (await _counted(counters, policy, "key:m")).allowed
        own.stop()
        # From the first count after Redis went away, the process counts on its own, from
        # zero, and still limits (fail-open).
        verdicts = [(await _counted(counters, policy, "key:m")).allowed for _ in range(4)]
        assert verdicts == [True, True, True, False]
        assert not counters.shared
        # Until the retry is due, a count is made in memory at once: nothing to await.
        assert isinstance(counters.hit(policy, "native", "1", "key:m"), Hit)
        await counters.aclose()

    try:
        asyncio.run(scenario())
    finally:
        own.stop()


@pytest.mark.parametrize("amount", [1, 5])
def test_a_new_window_expires(redis_url: str, redis_prefix: str, amount: int) -> None:
    async def scenario() -> None:
        counters = SharedCounters(redis_url, redis_prefix, 1)
        count, left_ms = await counters._count("w", 2, amount)
        assert count == amount and 0 < left_ms <= 2000
        await counters.aclose()

    asyncio.run(scenario())
