"""Limits that hold across processes: two `ticketd serve` processes sharing PostgreSQL and Redis
admit no more than the limit together; and a server whose Redis stops keeps serving and returns
to it by itself."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest
import redis

from tests.conftest import World
from tests.redis_server import OwnRedis
from tests.web.test_server import _free_port, serving
from ticketd.settings import Settings

LIMIT = 300


@pytest.mark.slow
@pytest.mark.parametrize("settings", ["postgresql"], indirect=True)
def test_two_servers_admit_no_more_than_the_limit_together(
    settings: Settings, world: World, redis_url: str, redis_prefix: str
) -> None:
    env = {
        "TICKETD_REDIS_URL": redis_url,
        "TICKETD_REDIS_PREFIX": redis_prefix,
        "TICKETD_LIMIT_CREDENTIAL": f"{LIMIT}/minute",
        "TICKETD_EMBEDDED_WORKER": "false",
    }
    ports = [_free_port(), _free_port()]
    with serving(settings, ports[0], **env), serving(settings, ports[1], **env):
        bases = [f"http://127.0.0.1:{port}/api/v1" for port in ports]
        created = httpx2.post(f"{bases[0]}/tickets", json={"subject": "shared"}, auth=world.agent.basic)
        assert created.status_code == 201
        path = f"/tickets/{created.json()['id']}/status"

        def poll(index: int) -> int:
            with httpx2.Client(base_url=bases[index % 2], auth=world.agent.basic) as client:
                return [client.get(path).status_code for _ in range(25)].count(200)

        with ThreadPoolExecutor(8) as pool:
            admitted = 1 + sum(pool.map(poll, range(2 * LIMIT // 25)))  # 600 requests, half to each
        assert LIMIT * 0.99 <= admitted <= LIMIT * 1.01, admitted
        for base in bases:
            refused = httpx2.get(f"{base}{path}", auth=world.agent.basic)
            assert refused.status_code == 429 and refused.json()["violated-policies"] == ["credential"]


@pytest.mark.slow
@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_server_keeps_serving_while_redis_is_away(settings: Settings, world: World, tmp_path: Path) -> None:
    own = OwnRedis(tmp_path)
    own.start()
    port = _free_port()
    try:
        with serving(settings, port, TICKETD_REDIS_URL=own.url, TICKETD_REDIS_PREFIX="shared"):
            base = f"http://127.0.0.1:{port}/api/v1"
            health = httpx2.get(f"{base}/health").json()
            assert (
                health["status"] == "pass" and health["checks"]["redis:responseTime"][0]["status"] == "pass"
            )
            assert httpx2.get(f"{base}/tickets", auth=world.agent.basic).status_code == 200
            assert redis.Redis.from_url(own.url).keys("shared:*")

            own.stop()
            for _ in range(20):
                response = httpx2.get(f"{base}/tickets", auth=world.agent.basic)
                assert response.status_code == 200 and "ratelimit" in response.headers
            away = httpx2.get(f"{base}/health")
            assert away.status_code == 200 and away.json()["status"] == "warn"
            assert away.json()["checks"]["redis:responseTime"][0]["status"] == "warn"

            own.start()  # the same port, and empty
            deadline = time.monotonic() + 10
            while httpx2.get(f"{base}/health").json()["status"] != "pass":
                assert time.monotonic() < deadline, "the server did not return to Redis"
                time.sleep(0.2)
            assert httpx2.get(f"{base}/tickets", auth=world.agent.basic).status_code == 200
            assert redis.Redis.from_url(own.url).keys("shared:*"), "counting in Redis again"
    finally:
        own.stop()
