"""`ticketd ticket import|export|attach|attachments`: tickets in and out in bulk, and their files."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from ticketd.cli.context import cli_context, console, tenant_user
from ticketd.core import attachments, identity, operations
from ticketd.core.errors import InvalidInput
from ticketd.core.importer import detect_format
from ticketd.core.operation_params import ExportParams, read_params
from ticketd.core.principal import Principal, Role
from ticketd.core.worker import worker_for
from ticketd.settings import Settings
from ticketd.store.engine import session_factory, unit_of_work
from ticketd.store.tables import Operation

ticket_app = typer.Typer(help="Tickets.", no_args_is_help=True)

SHOWN_ERRORS = 100


@ticket_app.command("import")
def ticket_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="The tenant's slug.")],
    as_user: Annotated[str | None, typer.Option("--as", help="The user recorded as creator.")] = None,
) -> None:
    """Import tickets from CSV (header row) or JSON lines. Bad rows are reported; good rows are kept.

    The import is an operation like one started over the API: it survives a crash and resumes. This
    command also runs a worker for it, so it completes with no server running.
    """
    context = cli_context(ctx)
    with file.open("rb") as stream:
        try:
            fmt = detect_format(file.name, stream.read(4096))
        except InvalidInput as exc:
            console.print(f"[red]error:[/red] {exc.message}")
            raise typer.Exit(2) from exc
        stream.seek(0)
        with context.transaction() as db:
            owner, actor = (
                tenant_user(db, tenant, as_user) if as_user else (identity.tenant_by_slug(db, tenant), None)
            )
            upload = operations.Upload(fmt, operations.read_chunks(stream), context.settings.max_upload_bytes)
            importer = (
                Principal(tenant_id=owner.id, user_id=actor.id, role=Role(actor.role)) if actor else None
            )
            operation = operations.start_import(db, tenant_id=owner.id, by=importer, upload=upload)
            operation_id = operation.id
    sessions = session_factory(context.engine())
    _report(_run_with_progress(context.settings, sessions, operation_id, "importing"))


def _run_with_progress(
    settings: Settings, sessions: sessionmaker[Session], operation_id: int, label: str
) -> Operation:
    """Runs a worker here too, so the operation finishes with no server running; follows its progress."""
    stop = threading.Event()
    runner = threading.Thread(target=worker_for(settings, sessions, mail=False).run_forever, args=(stop, 0.2))
    runner.start()
    try:
        return _follow(sessions, operation_id, label)
    finally:
        stop.set()
        runner.join()


def _follow(sessions: sessionmaker[Session], operation_id: int, label: str) -> Operation:
    columns = (
        TextColumn(label),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.completed:,.0f} rows"),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("import", total=None)
        while True:
            with unit_of_work(sessions, write=False) as db:
                operation = db.get(Operation, operation_id)
                assert operation is not None
            progress.update(task, completed=operation.progress_done, total=operation.progress_total or None)
            if operation.status in operations.FINISHED:
                return operation
            time.sleep(0.2)


def _report(operation: Operation) -> None:
    result = operation.result or {}
    errors = result.get("errors", [])
    if errors:
        table = Table("row", "field", "reason", title="problems in rejected rows")
        for error in errors[:SHOWN_ERRORS]:
            table.add_row(str(error["row"]), error["field"], error["reason"])
        console.print(table)
    if operation.status != operations.OperationStatus.COMPLETED.value:
        console.print(f"[red]operation {operation.id} {operation.status}[/red]: {operation.error}")
        raise typer.Exit(1)
    typer.echo(
        f"imported {result.get('imported', 0)} tickets; rejected {result.get('rejected_rows', 0)} rows"
        f" (operation {operation.id})"
    )


@ticket_app.command("export")
def ticket_export(
    ctx: typer.Context,
    output: Annotated[Path, typer.Argument(dir_okay=False, writable=True, help="Where to write the file.")],
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="The tenant's slug.")],
    as_user: Annotated[
        str, typer.Option("--as", help="The staff member exporting (whose view is exported).")
    ],
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl.")] = "csv",
    status: Annotated[list[str] | None, typer.Option(help="Repeat for several.")] = None,
    tag: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Export the tickets matching a filter, as an operation, with a progress bar."""
    context = cli_context(ctx)
    with context.transaction() as db:
        owner, actor = tenant_user(db, tenant, as_user)
        principal = Principal(tenant_id=owner.id, user_id=actor.id, role=Role(actor.role))
        spec = {key: value for key, value in {"status": status, "tag": tag}.items() if value}
        params = read_params(ExportParams, {"format": fmt, "filter": spec})
        operation_id = operations.start_export(db, principal, params).id
    finished = _run_with_progress(
        context.settings, session_factory(context.engine()), operation_id, "exporting"
    )
    if finished.status != operations.OperationStatus.COMPLETED.value:
        console.print(f"[red]operation {operation_id} {finished.status}[/red]: {finished.error}")
        raise typer.Exit(1)
    with output.open("wb") as sink:
        for part in operations.parts(session_factory(context.engine()), operation_id):
            sink.write(part)
    typer.echo(f"exported {finished.progress_done} tickets to {output} (operation {operation_id})")


@ticket_app.command("attach")
def ticket_attach(
    ctx: typer.Context,
    ticket_id: Annotated[int, typer.Argument(help="The ticket's id.")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="The tenant's slug.")],
    as_user: Annotated[str, typer.Option("--as", help="Who adds the file (as they could over the API).")],
) -> None:
    """Attach a file to a ticket, as that user; its type is decided from its bytes."""
    context = cli_context(ctx)
    limits = attachments.Limits.of(context.settings)
    with file.open("rb") as source:
        digest = hashlib.file_digest(source, "sha256").hexdigest()
        incoming = attachments.IncomingFile(file.name, None, source, file.stat().st_size, digest)
        with context.transaction() as db:
            owner, actor = tenant_user(db, tenant, as_user)
            principal = Principal(tenant_id=owner.id, user_id=actor.id, role=Role(actor.role))
            attachment = attachments.add(db, principal, incoming, limits, ticket_id=ticket_id)
            shown = (attachment.id, attachment.content_type, attachment.size)
    typer.echo(f"attachment {shown[0]} added to ticket {ticket_id} ({shown[1]}, {shown[2]} bytes)")


@ticket_app.command("attachments")
def ticket_attachments(
    ctx: typer.Context, ticket_id: Annotated[int, typer.Argument(help="The ticket's id.")]
) -> None:
    """A ticket's files, as the operator sees them (every one, internal notes' too)."""
    with cli_context(ctx).transaction() as db:
        files = attachments.of_ticket(db, ticket_id)
        rows = [
            (str(f.id), f.filename, f.content_type, str(f.size), str(f.comment_id or "—"), f.sha256[:12])
            for f in files
        ]
    table = Table("id", "name", "type", "bytes", "comment", "sha256", title=f"files of ticket {ticket_id}")
    for row in rows:
        table.add_row(*row)
    console.print(table if rows else f"ticket {ticket_id} has no files")
