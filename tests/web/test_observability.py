"""What an operator sees of real processes: JSON log lines with request ids and no secrets, metrics
that add up across `--workers 2`, and a worker's own metrics port."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from tests.web.test_server import _demo, _env, _free_port, _native_key, serving, serving_logged
from ticketd.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("settings", ["sqlite"], indirect=True)]


def test_log_lines_are_json_carry_request_ids_and_no_secrets(settings: Settings, tmp_path: Path) -> None:
    demo = _demo(settings)
    native, onecloud, huawei, prioticket = (
        demo[face] for face in ("native", "onecloud", "huawei", "prioticket")
    )
    assert isinstance(native, dict) and isinstance(onecloud, dict)
    assert isinstance(huawei, dict) and isinstance(prioticket, dict)
    auth = (native["api_key_id"], native["api_key_secret"])
    log = tmp_path / "server.log"
    port = _free_port()
    secrets: list[str] = [str(native["api_key_secret"]), str(native["password"]), str(huawei["sk"])]
    with serving_logged(settings, port, log, TICKETD_ACCESS_LOG="true"):
        base = f"http://127.0.0.1:{port}"
        assert httpx2.get(f"{base}/api/v1/tickets/1/status", auth=auth).status_code == 200
        token = httpx2.post(
            f"{base}/api/v1/auth/token",
            json={"tenant": "demo", "username": "admin", "password": native["password"]},
        ).json()["access_token"]
        secrets.append(token)
        assert (
            httpx2.get(f"{base}/api/v1/tickets", headers={"Authorization": f"Bearer {token}"}).status_code
            == 200
        )
        wrong = httpx2.post(
            f"{base}/api/v1/auth/token",
            json={"tenant": "demo", "username": "admin", "password": "wrong-password-in-the-log?"},
        )
        assert wrong.status_code == 401
        secrets.append("wrong-password-in-the-log?")
        # A credential in a query string, where a careless client puts it, reaches the access log.
        httpx2.get(f"{base}/api/v1/tickets?access_token=query-token-in-the-log", auth=auth)
        secrets.append("query-token-in-the-log")
        login = httpx2.post(
            f"{base}/v2/iam/login",
            json={
                "email": onecloud["email"],
                "password": onecloud["password"],
                "siteId": onecloud["site_id"],
            },
        )
        assert login.status_code < 500
        failed = httpx2.get(
            f"{base}/v3.8/distributor/products", headers={"X-Request-ID": "find-me-in-the-log"}, auth=auth
        )
        assert failed.status_code >= 400 and failed.json()["error_reference"] == "find-me-in-the-log"
    text = log.read_text()
    # Every line the server wrote, its start included, is one JSON object.
    records = [json.loads(line) for line in text.splitlines()]
    assert records[0]["event"].startswith("store: ")
    assert any(record.get("request_id") == "find-me-in-the-log" for record in records)
    access = [record for record in records if record.get("logger") == "uvicorn.access"]
    assert access and all(record.get("request_id") for record in access)
    for secret in secrets:
        assert secret not in text, f"a secret reached the log: {secret[:6]}..."


STATUS_ROUTE = "/api/v1/tickets/{ticket_id}/status"


def _counted(scrape: str, route: str) -> float:
    pattern = re.compile(
        r'^http_server_request_duration_seconds_count\{[^}]*http_route="'
        + re.escape(route)
        + r'"[^}]*\} (\S+)$',
        re.MULTILINE,
    )
    return sum(float(value) for value in pattern.findall(scrape))


def test_metrics_add_up_across_two_server_processes(settings: Settings) -> None:
    _, auth = _native_key(_demo(settings))
    port = _free_port()
    with serving(settings, port, TICKETD_WORKERS="2"):
        base = f"http://127.0.0.1:{port}"
        served_by: set[str] = set()
        for _ in range(60):
            # A connection each, so the kernel spreads them over both processes.
            with httpx2.Client() as client:
                answer = client.get(f"{base}/api/v1/tickets/1/status", auth=auth)
            assert answer.status_code == 200
            served_by.add(answer.headers["x-request-id"].split("-")[0])
        assert len(served_by) == 2, "both processes answered"
        # Each process adds its counts to the shared files within a second.
        deadline = time.monotonic() + 5
        while _counted(scrape := httpx2.get(f"{base}/metrics").text, STATUS_ROUTE) < 60:
            assert time.monotonic() < deadline, "the processes' counts did not add up"
            time.sleep(0.2)
        assert _counted(scrape, STATUS_ROUTE) == 60
        assert "ticketd_operations_pending" in scrape


def test_a_worker_serves_its_own_metrics(settings: Settings) -> None:
    port = _free_port()
    worker = subprocess.Popen(
        [sys.executable, "-m", "ticketd", "worker", "--metrics-port", str(port)],
        env=_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                scrape = httpx2.get(f"http://127.0.0.1:{port}/metrics", timeout=1)
                break
            except httpx2.TransportError:
                assert time.monotonic() < deadline and worker.poll() is None, "the worker's metrics port"
                time.sleep(0.1)
        assert scrape.status_code == 200
        assert "ticketd_operations_pending 0.0" in scrape.text
        assert "ticketd_operation_lease_losses_total" in scrape.text
    finally:
        worker.terminate()
        worker.wait(10)
