"""`ticketd webhook`: create (secret shown once), list, disable, enable, rotate, delete."""

from __future__ import annotations

from typer.testing import CliRunner

from ticketd.cli.main import app
from ticketd.settings import Settings

runner = CliRunner()


def _invoke(settings: Settings, *args: str, allow_private: bool = False) -> tuple[int, str]:
    env = {
        "TICKETD_DATABASE_URL": settings.resolved_database_url,
        "TICKETD_SECRET_KEY": settings.secret_key,
        "TICKETD_WEBHOOK_ALLOW_PRIVATE": str(allow_private).lower(),
        "COLUMNS": "250",
    }
    result = runner.invoke(app, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.output


def test_webhook_commands(settings: Settings) -> None:
    assert _invoke(settings, "tenant", "create", "acme")[0] == 0
    code, output = _invoke(settings, "webhook", "create", "http://127.0.0.1:9/hook", "-t", "acme")
    assert code == 1 and "loopback" in output  # refused without TICKETD_WEBHOOK_ALLOW_PRIVATE
    code, output = _invoke(
        settings,
        "webhook",
        "create",
        "http://127.0.0.1:9/hook",
        "-t",
        "acme",
        "-e",
        "ticket.created",
        allow_private=True,
    )
    assert code == 0, output
    endpoint_id = output.split("endpoint:")[1].split()[0]
    secret = output.split("secret:")[1].split()[0]
    assert secret.startswith("whsec_")
    code, listing = _invoke(settings, "webhook", "list", "-t", "acme")
    assert code == 0 and endpoint_id in listing and secret not in listing and "ticket.created" in listing
    assert f"{endpoint_id} disabled" in _invoke(settings, "webhook", "disable", endpoint_id, "-t", "acme")[1]
    assert "disabled by an admin" in _invoke(settings, "webhook", "list", "-t", "acme")[1]
    assert f"{endpoint_id} enabled" in _invoke(settings, "webhook", "enable", endpoint_id, "-t", "acme")[1]
    code, rotated = _invoke(settings, "webhook", "rotate", endpoint_id, "-t", "acme")
    assert code == 0 and "whsec_" in rotated and secret not in rotated
    assert _invoke(settings, "webhook", "delete", endpoint_id, "-t", "acme")[0] == 0
    code, output = _invoke(settings, "webhook", "delete", endpoint_id, "-t", "acme")
    assert code == 1 and "does not exist" in output
    assert _invoke(settings, "webhook", "create", "http://8.8.8.8/x", "-t", "acme", "-e", "nope")[0] == 1
