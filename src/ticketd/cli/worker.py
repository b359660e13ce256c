"""`ticketd worker`: run operations from the store, as one of any number of workers on any host."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Annotated

import typer

from ticketd.cli.context import cli_context, console
from ticketd.core.server_key import ServerKeyError, server_keys
from ticketd.core.webhooks.dispatcher import WebhookDispatcher
from ticketd.core.worker import worker_for
from ticketd.store.engine import session_factory
from ticketd.telemetry.logs import configure_logging
from ticketd.web.metrics_endpoint import serve_worker_metrics


def register(app: typer.Typer) -> None:
    @app.command()
    def worker(
        ctx: typer.Context,
        lease_seconds: Annotated[
            int | None, typer.Option(min=1, help="How long a claim lasts without progress.")
        ] = None,
        metrics_port: Annotated[
            int | None, typer.Option(min=1, max=65535, help="Serve Prometheus metrics on this port.")
        ] = None,
        metrics_host: Annotated[str, typer.Option(help="Address of the metrics port.")] = "127.0.0.1",
    ) -> None:
        """Run long-running operations until stopped (SIGTERM or Ctrl-C)."""
        context = cli_context(ctx)
        settings = context.settings
        configure_logging(settings.log_format)
        if lease_seconds:
            settings = settings.model_copy(update={"worker_lease_seconds": lease_seconds})
        sessions = session_factory(context.engine())
        runner = worker_for(settings, sessions)
        if metrics_port is not None:
            serve_worker_metrics(metrics_host, metrics_port, sessions, context.engine())
            console.print(f"metrics on http://{metrics_host}:{metrics_port}/metrics")
        stop = threading.Event()

        def finish(_signal: int, _frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, finish)
        signal.signal(signal.SIGINT, finish)
        store = context.settings.database_url or context.settings.database_path
        console.print(f"worker {runner.name} running; store: {store}")
        try:
            keys = server_keys(settings)  # webhook secrets are sealed with it
        except ServerKeyError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
        # Webhook deliveries in a thread of their own, so a long operation never delays a message.
        dispatcher = WebhookDispatcher(sessions, settings, keys, runner.name)
        deliveries = threading.Thread(
            target=dispatcher.run_forever, args=(stop,), name="ticketd-webhooks", daemon=True
        )
        deliveries.start()
        runner.run_forever(stop)
        deliveries.join(10)
