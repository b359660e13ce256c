"""Schemathesis against every face's own OpenAPI document, on a real `ticketd serve`, authenticated as
each face's demo user: no 5xx, no answer its document does not allow (status, media type, schema),
no stack trace in a body. Bounded here (FUZZ_SECONDS a face); `make fuzz` runs it longer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.web.test_server import _demo, _free_port, serving
from ticketd.settings import Settings

SECONDS = int(os.environ.get("FUZZ_SECONDS", "10"))
# Fixed, so a run in `make test` is repeatable; FUZZ_SEED=<n> explores elsewhere (README).
SEED = os.environ.get("FUZZ_SEED", "20261129")
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
# Loaded by name from this folder (a top-level `tests` package of some dependency would shadow ours).
HOOKS = "fuzz_hooks"
HERE = Path(__file__).resolve().parent


def _credentials(base: str, demo: dict[str, Any]) -> dict[str, list[str]]:
    """The fuzzer's arguments per face: its document and how its demo user authenticates."""
    native = f"{demo['native']['api_key_id']}:{demo['native']['api_key_secret']}"
    wallet = f"{demo['wallet']['project_key']}:{demo['wallet']['project_secret']}"
    onecloud = httpx2.post(
        f"{base}/api/authenticate",
        data={
            "email": demo["onecloud"]["email"],
            "password": demo["onecloud"]["password"],
            "siteId": demo["onecloud"]["site_id"],
        },
    ).json()["token"]
    prioticket = httpx2.post(
        f"{base}/v3.8/distributor/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(demo["prioticket"]["client_id"], demo["prioticket"]["client_secret"]),
    ).json()["access_token"]
    huawei = demo["huawei"]
    user = {"name": huawei["user"], "password": huawei["password"], "domain": {"name": huawei["domain"]}}
    iam = httpx2.post(
        f"{base}/v3/auth/tokens",
        json={"auth": {"identity": {"methods": ["password"], "password": {"user": user}}}},
    ).headers["x-subject-token"]
    return {
        # The event stream too: the server below ends every stream after a second.
        "native": [f"{base}/api/v1/openapi.json", "-a", native],
        "wallet": [f"{base}/v1/openapi.json", "-a", wallet],
        "onecloud": [f"{base}/api/onecloud/openapi.json", "-H", f"Authorization: Bearer {onecloud}"],
        "prioticket": [f"{base}/v3.8/distributor/openapi.json", "-H", f"Authorization: Bearer {prioticket}"],
        "huawei": [f"{base}/v2/servicerequest/openapi.json", "-H", f"X-Auth-Token: {iam}"],
        "status": [f"{base}/status/openapi.json"],  # public: no credentials
    }


@pytest.mark.slow
def test_every_face_survives_the_fuzzer(settings: Settings, tmp_path: Path) -> None:
    demo: dict[str, Any] = _demo(settings)
    port = _free_port()
    limits = {
        "TICKETD_LIMIT_IP": "10000000/minute",
        "TICKETD_LIMIT_CREDENTIAL": "10000000/minute",
        "TICKETD_EVENTS_MAX_STREAM_SECONDS": "1",
    }
    failed: dict[str, str] = {}
    with serving(settings, port, **limits):
        base = f"http://127.0.0.1:{port}"
        for face, arguments in _credentials(base, demo).items():
            command = [
                str(Path(sys.executable).parent / "schemathesis"),
                "run",
                *arguments,
                "--checks",
                f"{CHECKS},no_stack_trace",
                "--max-time",
                str(SECONDS),
                "--seed",
                SEED,
                "--request-timeout",
                "10",
                # The generator's own health checks (say, a binary body whose examples it filters):
                # about what the fuzzer can generate in the time, not about the server.
                "--suppress-health-check",
                "all",
                "--no-color",
            ]
            environment = {**os.environ, "SCHEMATHESIS_HOOKS": HOOKS}
            result = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=HERE)
            (tmp_path / f"{face}.txt").write_text(result.stdout + result.stderr)
            if result.returncode != 0:
                failed[face] = (result.stdout + result.stderr)[-4000:]
    assert failed == {}, "\n\n".join(f"== {face}\n{output}" for face, output in failed.items())
