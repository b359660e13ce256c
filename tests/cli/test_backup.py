"""Backups. `ticketd backup` while `ticketd serve` runs and a client writes; `ticketd restore` into a
fresh place; served again, the copy holds every write acknowledged before the backup began and none
acknowledged after it ended, and its key honours the tokens the first server signed. On PostgreSQL,
the README's `pg_dump` and `pg_restore` commands round-trip a database that is then served."""

from __future__ import annotations

import os
import secrets
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2
import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_ADMIN_URL, World, _libpq
from tests.web.test_server import _free_port, serving
from ticketd.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _ticketd(store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TICKETD_DATABASE_PATH": str(store),
        "TICKETD_SECRET_KEY": "",
        "TICKETD_DATABASE_URL": "",
    }
    return subprocess.run(
        [sys.executable, "-m", "ticketd", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class Writer(threading.Thread):
    """Creates tickets one after another, noting when each was acknowledged."""

    def __init__(self, base: str, auth: tuple[str, str]) -> None:
        super().__init__(daemon=True)
        self.base, self.auth = base, auth
        self.acknowledged: list[tuple[float, int]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx2.Client(timeout=30) as client:
            while not self.stop.is_set():
                answer = client.post(
                    f"{self.base}/api/v1/tickets", auth=self.auth, json={"subject": "written"}
                )
                assert answer.status_code == 201, answer.text
                self.acknowledged.append((time.monotonic(), answer.json()["id"]))


@pytest.mark.slow
@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_backup_while_writing_then_restore_and_serve(
    settings: Settings, world: World, tmp_path: Path
) -> None:
    keyless = settings.model_copy(update={"secret_key": ""})  # the key lives in ticketd.key, beside the store
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    backup = tmp_path / "backups" / "nightly.sqlite3"
    backup.parent.mkdir()
    with serving(keyless, port):
        signed = httpx2.post(
            f"{base}/api/v1/auth/token",
            json={"tenant": "acme", "username": world.agent.username, "password": world.agent.password},
        )
        assert signed.status_code == 200, signed.text
        token = signed.json()["access_token"]
        writer = Writer(base, world.agent.basic)
        writer.start()
        time.sleep(1)
        began = time.monotonic()
        made = _ticketd(settings.database_path, "backup", str(backup))
        ended = time.monotonic()
        time.sleep(0.5)
        writer.stop.set()
        writer.join(30)
    assert made.returncode == 0, made.stderr
    assert "checked" in made.stderr and "key copied" in made.stderr, made.stderr
    assert oct(backup.stat().st_mode & 0o777) == "0o600"
    key_copy = backup.with_name(backup.name + ".key")
    assert key_copy.read_bytes() == (settings.database_path.parent / "ticketd.key").read_bytes()
    assert oct(key_copy.stat().st_mode & 0o777) == "0o600"

    elsewhere = tmp_path / "restored" / "ticketd.sqlite3"
    put_back = _ticketd(elsewhere, "restore", str(backup))
    assert put_back.returncode == 0, put_back.stderr
    assert (elsewhere.parent / "ticketd.key").read_bytes() == key_copy.read_bytes()
    before = [ticket for at, ticket in writer.acknowledged if at < began]
    after = [ticket for at, ticket in writer.acknowledged if at > ended]
    assert before and after, "the writer wrote on both sides of the backup"
    restored = keyless.model_copy(update={"database_path": elsewhere})
    with serving(restored, port):
        for ticket_id in before:
            found = httpx2.get(f"{base}/api/v1/tickets/{ticket_id}/status", auth=world.agent.basic)
            assert found.status_code == 200, (ticket_id, found.text)
        for ticket_id in after:
            assert (
                httpx2.get(f"{base}/api/v1/tickets/{ticket_id}/status", auth=world.agent.basic).status_code
                == 404
            )
        # The first server's token: honoured, since its key came back with the store.
        mine = httpx2.get(f"{base}/api/v1/tickets?limit=1", headers={"authorization": f"Bearer {token}"})
        assert mine.status_code == 200, mine.text


def test_restore_refuses_a_backup_that_is_not_sound(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"not a database at all" * 100)
    refused = _ticketd(tmp_path / "store" / "ticketd.sqlite3", "restore", str(garbage))
    assert refused.returncode == 1
    assert "not a sound SQLite store" in " ".join(refused.stderr.split())
    assert "Traceback" not in refused.stderr


def _readme_command(name: str) -> str:
    """The README's command line that starts with `name`."""
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.strip().startswith(name + " "):
            return line.strip()
    raise AssertionError(f"the README gives no {name} command")


@pytest.mark.parametrize("settings", ["postgresql"], indirect=True)
def test_the_readmes_pg_dump_and_pg_restore_round_trip_a_served_database(
    settings: Settings, world: World, tmp_path: Path
) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(settings, port):
        made = httpx2.post(f"{base}/api/v1/tickets", auth=world.agent.basic, json={"subject": "kept"})
        assert made.status_code == 201
    source = make_url(settings.resolved_database_url)
    copy_name = f"ticketd_restored_{secrets.token_hex(4)}"
    target = source.set(database=copy_name)
    dump = tmp_path / "ticketd.dump"
    with psycopg.connect(_libpq(POSTGRES_ADMIN_URL), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{copy_name}"')
    try:
        server = f"postgresql://{source.username}@{source.host}:{source.port or 5432}"
        variables = {
            "DATABASE": f"{server}/{source.database}",
            "TARGET": f"{server}/{copy_name}",
            "FILE": str(dump),
        }
        for name in ("pg_dump", "pg_restore"):
            command = _readme_command(name)
            for variable, value in variables.items():
                command = command.replace(f'"${variable}"', shlex.quote(value))
            ran = subprocess.run(
                shlex.split(command), capture_output=True, text=True, timeout=300, check=False
            )
            assert ran.returncode == 0, (command, ran.stderr)
        restored = settings.model_copy(update={"database_url": target.render_as_string(hide_password=False)})
        with serving(restored, port):
            found = httpx2.get(f"{base}/api/v1/tickets/{made.json()['id']}", auth=world.agent.basic)
            assert found.status_code == 200 and found.json()["subject"] == "kept"
    finally:
        with psycopg.connect(_libpq(POSTGRES_ADMIN_URL), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{copy_name}" WITH (FORCE)')
