from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import count_rows
from ticketd.cli.main import app
from ticketd.settings import Settings
from ticketd.store.engine import build_engine

runner = CliRunner()


def _run(settings: Settings, *args: str) -> str:
    env = {"TICKETD_DATABASE_URL": settings.resolved_database_url, "TICKETD_SECRET_KEY": settings.secret_key}
    result = runner.invoke(app, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _fails(settings: Settings, *args: str) -> str:
    env = {"TICKETD_DATABASE_URL": settings.resolved_database_url, "TICKETD_SECRET_KEY": settings.secret_key}
    result = runner.invoke(app, list(args), env=env, catch_exceptions=False)
    assert result.exit_code != 0
    return result.output


def test_tenant_user_and_key_lifecycle(settings: Settings) -> None:
    _run(settings, "db", "upgrade")
    assert "tenant acme created" in _run(settings, "tenant", "create", "acme", "--name", "Acme")
    assert "already exists" in _fails(settings, "tenant", "create", "acme")
    _run(
        settings, "user", "create", "ann", "--tenant", "acme", "--role", "admin", "--password", "s3cret-pass"
    )
    output = _run(settings, "key", "create", "--tenant", "acme", "--user", "ann", "--name", "ci")
    key_id = output.split("key id:")[1].split()[0]
    secret = output.split("key secret:")[1].split()[0]
    assert len(secret) >= 40
    listing = _run(settings, "key", "list", "--tenant", "acme")
    assert key_id in listing and secret not in listing
    assert f"key {key_id} revoked" in _run(settings, "key", "revoke", key_id)
    assert "no API key" in _fails(settings, "key", "revoke", "tk_nope")
    assert "no user" in _fails(settings, "key", "create", "--tenant", "acme", "--user", "nobody")
    pair = _run(settings, "key", "create-ak", "--tenant", "acme", "--user", "ann")
    assert "access key (AK):" in pair and "secret key (SK):" in pair


def test_demo_is_idempotent_and_prints_json(settings: Settings) -> None:
    first = json.loads(_run(settings, "demo", "--json"))
    second = json.loads(_run(settings, "demo", "--json"))
    assert first == second
    assert set(first) == {
        "base_url",
        "tenant",
        "native",
        "ticket_ids",
        "wallet",
        "onecloud",
        "prioticket",
        "huawei",
        "status",
        "console",
    }
    assert first["status"] == {"page": "/status/demo"}
    assert first["console"]["url"] == "/console/" and set(first["console"]["users"]) >= {"admin", "agent"}
    assert set(first["native"]) == {"api_key_id", "api_key_secret", "user", "password"}
    assert set(first["wallet"]) == {"project_key", "project_secret"}
    assert set(first["onecloud"]) == {"email", "password", "site_id"}
    assert set(first["prioticket"]) == {"client_id", "client_secret"}
    assert set(first["huawei"]) == {"user", "password", "domain", "domain_id", "ak", "sk"}
    assert len(first["ticket_ids"]) >= 24
    engine = build_engine(settings)
    assert count_rows(engine, "tickets") == len(first["ticket_ids"])
    with engine.connect() as connection:
        statuses = {row[0] for row in connection.exec_driver_sql("SELECT DISTINCT status FROM tickets")}
    engine.dispose()
    assert statuses == {"new", "open", "pending", "solved", "closed", "canceled", "invalid"}
    human = _run(settings, "demo")
    assert "/api/v1/tickets/" in human
    assert "/v1/ticket/" in human  # the demo's one operation, for the Wallet face


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_import_keeps_good_rows_and_reports_bad_ones(settings: Settings, tmp_path: Path, kind: str) -> None:
    _run(settings, "tenant", "create", "acme")
    if kind == "csv":
        path = tmp_path / "tickets.csv"
        path.write_text(
            "subject,priority,status,tags\n"
            'Printer jams,high,open,"hw,floor3"\n'
            ",low,new,\n"  # row 2: no subject
            "VPN down,sometime,new,\n"  # row 3: bad priority
            "Mail bounce,normal,solved,mail\n"
        )
    else:
        path = tmp_path / "tickets.jsonl"
        path.write_text(
            '{"subject": "Printer jams", "priority": "high", "status": "open", "tags": ["hw", "floor3"]}\n'
            '{"priority": "low"}\n'
            '{"subject": "VPN down", "priority": "sometime"}\n'
            '{"subject": "Mail bounce", "status": "solved", "tags": "mail"}\n'
            "not json\n"
        )
    output = _run(settings, "ticket", "import", str(path), "--tenant", "acme")
    rejected = 2 if kind == "csv" else 3  # JSON lines has one more bad row: "not json"
    assert f"imported 2 tickets; rejected {rejected} rows" in output
    assert "subject" in output and "priority" in output
    engine = build_engine(settings)
    assert count_rows(engine, "tickets") == 2
    assert count_rows(engine, "ticket_events") == 2
    assert count_rows(engine, "ticket_tags") == 3
    engine.dispose()
    operation_id = output.rsplit("(operation ", 1)[1].split(")")[0]
    assert operation_id in _run(settings, "ops", "list", "--tenant", "acme")
    assert '"status": "completed"' in _run(settings, "ops", "show", operation_id)
    assert "already completed" in _fails(settings, "ops", "cancel", operation_id)


def test_export_writes_the_matching_tickets(settings: Settings, tmp_path: Path) -> None:
    _run(settings, "tenant", "create", "acme")
    _run(
        settings, "user", "create", "ann", "--tenant", "acme", "--role", "agent", "--password", "s3cret-pass"
    )
    source = tmp_path / "in.csv"
    source.write_text("subject,status,tags\nOne,open,red\nTwo,new,red\nThree,open,blue\n")
    _run(settings, "ticket", "import", str(source), "--tenant", "acme")
    target = tmp_path / "out.csv"
    output = _run(
        settings, "ticket", "export", str(target), "--tenant", "acme", "--as", "ann", "--tag", "red"
    )
    assert "exported 2 tickets" in output
    lines = target.read_text().splitlines()
    assert lines[0].startswith("id,subject,status")
    assert len(lines) == 3
    jsonl = tmp_path / "out.jsonl"
    args = [
        "ticket",
        "export",
        str(jsonl),
        "--tenant",
        "acme",
        "--as",
        "ann",
        "--format",
        "jsonl",
        "--status",
        "open",
    ]
    _run(settings, *args)
    assert sorted(json.loads(line)["subject"] for line in jsonl.read_text().splitlines()) == ["One", "Three"]


def test_import_refuses_a_file_that_is_neither(settings: Settings, tmp_path: Path) -> None:
    _run(settings, "tenant", "create", "acme")
    path = tmp_path / "photo.bin"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    assert "neither CSV" in _fails(settings, "ticket", "import", str(path), "--tenant", "acme")


def test_tenant_limits(settings: Settings) -> None:
    _run(settings, "tenant", "create", "acme")
    assert "default limits" in _run(settings, "tenant", "limits", "acme")
    shown = _run(settings, "tenant", "limits", "acme", "--face", "native", "--credential", "600/minute")
    assert "native" in shown and "600/minute" in shown
    shown = _run(
        settings,
        "tenant",
        "limits",
        "acme",
        "--face",
        "onecloud",
        "--service-hours",
        "18:00-06:00",
        "--daily-allowance",
        "5000",
    )
    assert "18:00-06:00" in shown and "5000" in shown and "600/minute" in shown
    assert "not a rate limit" in _fails(
        settings, "tenant", "limits", "acme", "--face", "native", "--ip", "lots"
    )
    assert "daily window" in _fails(
        settings, "tenant", "limits", "acme", "--face", "onecloud", "--service-hours", "9 to 5"
    )
    assert "one of" in _fails(settings, "tenant", "limits", "acme", "--face", "fax", "--ip", "1/second")
    assert "--face is required" in _fails(settings, "tenant", "limits", "acme", "--ip", "1/second")
    shown = _run(settings, "tenant", "limits", "acme", "--face", "native", "--reset")
    assert "600/minute" not in shown and "18:00-06:00" in shown


def test_serve_refuses_unreadable_limits(settings: Settings) -> None:
    env = {"TICKETD_DATABASE_URL": settings.resolved_database_url, "TICKETD_LIMIT_IP": "plenty"}
    result = runner.invoke(app, ["serve"], env=env, catch_exceptions=False)
    assert result.exit_code == 2 and "TICKETD_LIMIT_IP" in result.output
    env = {"TICKETD_DATABASE_URL": settings.resolved_database_url, "TICKETD_FACE_LIMITS": '{"fax": {}}'}
    result = runner.invoke(app, ["serve"], env=env, catch_exceptions=False)
    assert result.exit_code == 2 and "no face 'fax'" in result.output
    env = {"TICKETD_DATABASE_URL": settings.resolved_database_url, "TICKETD_REDIS_URL": "localhost:6379"}
    result = runner.invoke(app, ["serve"], env=env, catch_exceptions=False)
    assert result.exit_code == 2 and "TICKETD_REDIS_URL" in result.output


def test_users_are_disabled_enabled_and_given_passwords(settings: Settings) -> None:
    from ticketd.core.errors import Unauthenticated
    from ticketd.core.identity import login
    from ticketd.store.engine import session_factory

    _run(settings, "db", "upgrade")
    _run(settings, "tenant", "create", "acme")
    _run(settings, "user", "create", "bo", "--tenant", "acme", "--password", "first-pass-1")
    engine = build_engine(settings)
    sessions = session_factory(engine)

    def logs_in(password: str) -> bool:
        try:
            login(sessions, tenant_slug="acme", username="bo", password=password)
        except Unauthenticated:
            return False
        return True

    try:
        assert logs_in("first-pass-1")
        assert "user bo disabled" in _run(settings, "user", "disable", "bo", "--tenant", "acme")
        assert not logs_in("first-pass-1")
        assert "user bo enabled" in _run(settings, "user", "enable", "bo", "--tenant", "acme")
        assert logs_in("first-pass-1")
        _run(settings, "user", "set-password", "bo", "--tenant", "acme", "--password", "second-pass-2")
        assert not logs_in("first-pass-1") and logs_in("second-pass-2")
        assert "no user" in _fails(settings, "user", "disable", "nobody", "--tenant", "acme")
    finally:
        engine.dispose()


def test_access_keys_are_listed_and_revoked(settings: Settings) -> None:
    _run(settings, "db", "upgrade")
    _run(settings, "tenant", "create", "acme")
    _run(settings, "user", "create", "ann", "--tenant", "acme", "--password", "s3cret-pass")
    pair = _run(settings, "key", "create-ak", "--tenant", "acme", "--user", "ann")
    access_key = pair.split("access key (AK):")[1].split()[0]
    secret_key = pair.split("secret key (SK):")[1].split()[0]
    listing = _run(settings, "key", "list-ak", "--tenant", "acme")
    assert access_key in listing and secret_key not in listing
    assert f"access key {access_key} revoked" in _run(settings, "key", "revoke-ak", access_key)
    assert "no access key" in _fails(settings, "key", "revoke-ak", "NOPE")


def test_serve_refuses_a_key_it_cannot_use(settings: Settings, tmp_path: Path) -> None:
    base = {"TICKETD_DATABASE_URL": settings.resolved_database_url}
    short = runner.invoke(
        app, ["serve"], env={**base, "TICKETD_SECRET_KEY": "too short"}, catch_exceptions=False
    )
    assert short.exit_code == 2 and "TICKETD_SECRET_KEY" in short.output and "Traceback" not in short.output
    missing = {**base, "TICKETD_SECRET_KEY": "", "TICKETD_SECRET_KEY_FILE": str(tmp_path / "none.key")}
    result = runner.invoke(app, ["serve"], env=missing, catch_exceptions=False)
    assert result.exit_code == 2 and "TICKETD_SECRET_KEY_FILE" in result.output


def test_secrets_rotate_adds_a_key_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ticketd.sqlite3"
    env = {"TICKETD_DATABASE_PATH": str(path), "TICKETD_SECRET_KEY": "", "TICKETD_DATABASE_URL": ""}
    first = runner.invoke(app, ["secrets", "rotate"], env=env, catch_exceptions=False)
    assert first.exit_code == 0 and "a new key was added" in first.output
    assert len((tmp_path / "ticketd.key").read_text().split()) == 2
    refused = runner.invoke(app, ["secrets", "rotate"], env={**env, "TICKETD_SECRET_KEY": "k" * 40})
    assert refused.exit_code == 2 and "TICKETD_SECRET_KEY" in refused.output


def test_files_are_attached_listed_and_limited_by_the_tenants_quota(
    settings: Settings, tmp_path: Path
) -> None:
    _run(settings, "tenant", "create", "acme")
    _run(
        settings, "user", "create", "ann", "--tenant", "acme", "--role", "agent", "--password", "s3cret-pass"
    )
    source = tmp_path / "in.csv"
    source.write_text("subject\nPrinter\n")
    _run(settings, "ticket", "import", str(source), "--tenant", "acme")
    shot = tmp_path / "screen.png"
    shot.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    output = _run(settings, "ticket", "attach", "1", str(shot), "--tenant", "acme", "--as", "ann")
    assert "attachment 1 added to ticket 1 (image/png, 1032 bytes)" in output
    listed = _run(settings, "ticket", "attachments", "1")
    assert "screen.png" in listed and "image/png" in listed
    assert "files: 1032 of" in _run(settings, "tenant", "limits", "acme")
    assert "files: 1032 of 2048 bytes" in _run(
        settings, "tenant", "limits", "acme", "--attachment-quota", "2KiB"
    )
    bigger = tmp_path / "log.txt"
    bigger.write_text("line\n" * 300)
    assert "storage for files is full" in _fails(
        settings, "ticket", "attach", "1", str(bigger), "--tenant", "acme", "--as", "ann"
    )
    assert "takes bytes" in _fails(settings, "tenant", "limits", "acme", "--attachment-quota", "lots")
    assert "does not exist" in _fails(
        settings, "ticket", "attach", "9", str(bigger), "--tenant", "acme", "--as", "ann"
    )
    _run(settings, "tenant", "limits", "acme", "--attachment-quota", "default")
    _run(settings, "ticket", "attach", "1", str(bigger), "--tenant", "acme", "--as", "ann")
    engine = build_engine(settings)
    assert count_rows(engine, "attachments") == 2
    engine.dispose()


def test_mail_channels_and_a_piped_message(settings: Settings) -> None:
    _run(settings, "tenant", "create", "acme")
    assert "mail channel 1 added: support@acme.example" in _run(
        settings, "channel", "email", "add", "Support@acme.example", "--tenant", "acme", "--on-closed", "new"
    )
    listed = _run(settings, "channel", "email", "list", "--tenant", "acme")
    assert "support@acme.example" in listed and "new" in listed
    assert "already a mail channel" in _fails(
        settings, "channel", "email", "add", "support@acme.example", "-t", "acme"
    )
    raw = (
        b"From: Ann <ann@customer.example>\r\nTo: support@acme.example\r\nSubject: Printer jams\r\n"
        b"Message-ID: <piped-1@customer.example>\r\n\r\nTray 2 jams.\r\n"
    )
    env = {"TICKETD_DATABASE_URL": settings.resolved_database_url, "TICKETD_SECRET_KEY": settings.secret_key}
    for expected in ("created", "ignored"):  # the same message twice is taken once
        result = runner.invoke(
            app, ["mail", "deliver", "--tenant", "acme"], input=raw, env=env, catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["action"] == expected
    engine = build_engine(settings)
    assert count_rows(engine, "tickets") == 1 and count_rows(engine, "mail_messages") == 1
    engine.dispose()
    assert "removed" in _run(settings, "channel", "email", "remove", "1", "--tenant", "acme")
    assert "has no mail channel" in _run(settings, "channel", "email", "list", "--tenant", "acme")
