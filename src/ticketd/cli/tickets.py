"""`ticketd ticket import`: CSV or JSON lines into a tenant, with a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from ticketd.cli.context import cli_context, console
from ticketd.core import identity
from ticketd.core.errors import InvalidInput
from ticketd.core.importer import ImportResult, detect_format, run_import
from ticketd.store.engine import session_factory

ticket_app = typer.Typer(help="Tickets.", no_args_is_help=True)

SHOWN_ERRORS = 100


@ticket_app.command("import")
def ticket_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="The tenant's slug.")],
    as_user: Annotated[str | None, typer.Option("--as", help="The user recorded as creator.")] = None,
) -> None:
    """Import tickets from CSV (header row) or JSON lines. Bad rows are reported; good rows are kept."""
    context = cli_context(ctx)
    with context.transaction() as db:
        owner = identity.tenant_by_slug(db, tenant)
        tenant_id = owner.id
        actor = identity.user_by_username(db, tenant_id=tenant_id, username=as_user) if as_user else None
        if as_user and actor is None:
            console.print(f"[red]error:[/red] no user {as_user!r} in tenant {tenant!r}")
            raise typer.Exit(1)
        actor_id = actor.id if actor else None
    size = file.stat().st_size
    with file.open("rb") as stream:
        try:
            fmt = detect_format(file.name, stream.read(4096))
        except InvalidInput as exc:
            console.print(f"[red]error:[/red] {exc.message}")
            raise typer.Exit(2) from exc
        stream.seek(0)
        columns = (
            TextColumn("importing"),
            BarColumn(),
            TaskProgressColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[done]} tickets"),
        )
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("import", total=size or 1, done=0)

            def advance(result: ImportResult) -> None:
                progress.update(task, completed=stream.tell(), done=result.imported)

            try:
                result = run_import(
                    session_factory(context.engine()),
                    tenant_id=tenant_id,
                    actor_id=actor_id,
                    stream=stream,
                    fmt=fmt,
                    on_batch=advance,
                )
            except InvalidInput as exc:
                console.print(f"[red]error:[/red] {exc.message}")
                raise typer.Exit(2) from exc
            progress.update(task, completed=size or 1)
    if result.errors:
        table = Table("row", "field", "reason", title=f"{len(result.errors)} problems in rejected rows")
        for error in result.errors[:SHOWN_ERRORS]:
            table.add_row(str(error.row), error.field, error.reason)
        console.print(table)
        if len(result.errors) > SHOWN_ERRORS:
            console.print(f"... and {len(result.errors) - SHOWN_ERRORS} more")
    rejected = len({error.row for error in result.errors})
    typer.echo(f"imported {result.imported} tickets; rejected {rejected} rows")
