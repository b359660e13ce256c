"""`ticketd serve`: migrate if needed, then serve with uvicorn."""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import make_url

from ticketd.assembly.registry import check_face_limits
from ticketd.cli.context import cli_context, console
from ticketd.core.server_key import ServerKeyError, server_key
from ticketd.limiting.config import check_settings
from ticketd.limiting.policies import PolicyError
from ticketd.settings import Settings
from ticketd.telemetry.logs import configure_logging, logging_config
from ticketd.telemetry.metrics import MULTIPROCESS_DIRECTORY

log = logging.getLogger("ticketd.serve")


def safe_url(where: str) -> str:
    """The store's address without its password."""
    return make_url(where).render_as_string(hide_password=True) if "://" in where else where


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        ctx: typer.Context,
        host: Annotated[str | None, typer.Option(help="Address to listen on (env TICKETD_HOST).")] = None,
        port: Annotated[int | None, typer.Option(help="Port (env TICKETD_PORT).")] = None,
        workers: Annotated[int | None, typer.Option(help="Server processes (env TICKETD_WORKERS).")] = None,
        access_log: Annotated[bool | None, typer.Option(help="Log every request.")] = None,
    ) -> None:
        """Migrate the store if needed, then serve every API face."""
        context = cli_context(ctx)
        settings = context.settings.model_copy(
            update={
                key: value
                for key, value in {
                    "host": host,
                    "port": port,
                    "workers": workers,
                    "access_log": access_log,
                }.items()
                if value is not None
            }
        )
        try:
            check_settings(settings)
            check_face_limits(settings)
            server_key(settings)
        except (PolicyError, ServerKeyError) as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
        context.engine()  # migrates
        where = settings.database_url or str(settings.database_path)
        if settings.log_format == "json":
            # The same one-object-a-line shape as everything the server logs after.
            configure_logging(settings.log_format)
            log.info("store: %s", safe_url(where))
            log.info("serving on http://%s:%s (docs: /api/v1/docs)", settings.host, settings.port)
        else:
            console.print(f"store: [bold]{safe_url(where)}[/bold]")
            console.print(
                f"serving on [bold]http://{settings.host}:{settings.port}[/bold]  (docs: /api/v1/docs)"
            )
        # Each server process builds its app from the environment: hand the settings over there.
        os.environ.update(settings_environment(settings))
        runtime = Path(tempfile.mkdtemp(prefix="ticketd-serve-"))
        log_config = runtime / "logging.json"
        log_config.write_text(json.dumps(logging_config(settings.log_format)))
        if settings.workers > 1 and not os.environ.get(MULTIPROCESS_DIRECTORY):
            # Every server process writes its metrics here; a scrape of any of them adds them up.
            (runtime / "metrics").mkdir()
            os.environ[MULTIPROCESS_DIRECTORY] = str(runtime / "metrics")
        context.close()
        # Replace this process with a fresh interpreter running only the server: the migration
        # and command-line libraries loaded so far would otherwise stay in its memory for good.
        arguments = [*uvicorn_arguments(settings), "--log-config", str(log_config)]
        os.execv(sys.executable, [sys.executable, *arguments])  # noqa: S606 - fixed argv


def uvicorn_arguments(settings: Settings) -> list[str]:
    arguments = [
        "-m",
        "uvicorn",
        "ticketd.assembly.app:app_from_environment",
        "--factory",
        "--host",
        settings.host,
        "--port",
        str(settings.port),
        "--workers",
        str(settings.workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-server-header",
        # The client IP that limits count is the one these proxies report (X-Forwarded-For).
        "--forwarded-allow-ips",
        settings.forwarded_allow_ips,
        "--log-level",
        "info",
        # On SIGTERM: requests in flight get this long to finish (streams end at once).
        "--timeout-graceful-shutdown",
        str(max(1, round(settings.shutdown_grace_seconds))),
    ]
    if not settings.access_log:
        arguments.append("--no-access-log")
    return arguments


def settings_environment(settings: Settings) -> dict[str, str]:
    values = settings.model_dump()
    return {
        # Structured settings are read back as JSON.
        f"TICKETD_{key.upper()}": json.dumps(value) if isinstance(value, dict | list) else str(value)
        for key, value in values.items()
        if value not in (None, "")
    }
