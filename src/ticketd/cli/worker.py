"""`ticketd worker`: run operations from the store, as one of any number of workers on any host."""

from __future__ import annotations

import signal
import threading
from datetime import timedelta
from types import FrameType
from typing import Annotated

import typer

from ticketd.cli.context import cli_context, console
from ticketd.core.worker import Worker
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
        lease = timedelta(seconds=lease_seconds or context.settings.worker_lease_seconds)
        runner = Worker(session_factory(context.engine()), lease=lease)
        stop = threading.Event()

        def finish(_signal: int, _frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, finish)
        signal.signal(signal.SIGINT, finish)
        store = context.settings.database_url or context.settings.database_path
        console.print(f"worker {runner.name} running; store: {store}")
        runner.run_forever(stop)
