"""`ticketd worker`: run operations from the store, as one of any number of workers on any host."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Annotated

import typer

from ticketd.cli.context import cli_context, console
from ticketd.core.worker import worker_for
from ticketd.store.engine import session_factory


def register(app: typer.Typer) -> None:
    @app.command()
    def worker(
        ctx: typer.Context,
        lease_seconds: Annotated[
            int | None, typer.Option(min=1, help="How long a claim lasts without progress.")
        ] = None,
    ) -> None:
        """Run long-running operations until stopped (SIGTERM or Ctrl-C)."""
        context = cli_context(ctx)
        settings = context.settings
        if lease_seconds:
            settings = settings.model_copy(update={"worker_lease_seconds": lease_seconds})
        runner = worker_for(settings, session_factory(context.engine()))
        stop = threading.Event()

        def finish(_signal: int, _frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, finish)
        signal.signal(signal.SIGINT, finish)
        store = context.settings.database_url or context.settings.database_path
        console.print(f"worker {runner.name} running; store: {store}")
        runner.run_forever(stop)
