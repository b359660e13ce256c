"""Writers and sign-ins never freeze the process: a real `ticketd serve`, one client creating
tickets in a loop, one taking OAuth tokens in a loop and one failing native logins in a loop, while
every face is asked something. Nothing may hang (every request has a 10 s deadline) or fail."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from tests.web.test_server import _demo, _free_port, serving
from ticketd.settings import Settings

LOOP_SECONDS = 4.0
DEADLINE = httpx2.Timeout(10.0)


@pytest.mark.slow
def test_writers_and_logins_freeze_nothing(settings: Settings) -> None:
    demo: dict[str, Any] = _demo(settings)
    native = (demo["native"]["api_key_id"], demo["native"]["api_key_secret"])
    client = (demo["prioticket"]["client_id"], demo["prioticket"]["client_secret"])
    ticket = demo["ticket_ids"][0]
    port = _free_port()
    statuses: Counter[tuple[str, int]] = Counter()
    failures: list[str] = []
    lock = threading.Lock()

    def loop(name: str, call: Callable[[httpx2.Client], httpx2.Response]) -> None:
        stop_at = time.monotonic() + LOOP_SECONDS
        with httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=DEADLINE) as http:
            while time.monotonic() < stop_at:
                try:
                    answer = call(http).status_code
                except httpx2.HTTPError as exc:
                    with lock:
                        failures.append(f"{name}: {type(exc).__name__}")
                    return
                with lock:
                    statuses[(name, answer)] += 1

    loops: dict[str, Callable[[httpx2.Client], httpx2.Response]] = {
        "create": lambda http: http.post("/api/v1/tickets", json={"subject": "loop"}, auth=native),
        "oauth": lambda http: http.post(
            "/v3.8/distributor/oauth2/token", data={"grant_type": "client_credentials"}, auth=client
        ),
        "bad login": lambda http: http.post(
            "/api/v1/auth/token", json={"tenant": "demo", "username": "nobody", "password": "wrong"}
        ),
        "status": lambda http: http.get(f"/api/v1/tickets/{ticket}/status", auth=native),
        "list": lambda http: http.get("/api/v1/tickets", auth=native),
        "wallet": lambda http: http.get("/v1/system/status"),
        "ping": lambda http: http.get("/v3.8/distributor/system/ping"),
    }
    with serving(settings, port, TICKETD_LIMIT_IP="100000/minute", TICKETD_LIMIT_CREDENTIAL="100000/minute"):
        threads = [threading.Thread(target=loop, args=item) for item in loops.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(LOOP_SECONDS + 30)
    assert failures == []
    server_errors = {key: count for key, count in statuses.items() if key[1] >= 500}
    assert server_errors == {}
    for name in loops:
        assert sum(count for (who, _), count in statuses.items() if who == name) > 0, name
    print(dict(statuses))
