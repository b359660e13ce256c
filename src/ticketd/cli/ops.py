"""`ticketd ops`: the long-running operations in the store."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketd.cli.context import cli_context, console
from ticketd.core import identity
from ticketd.core.operations import cancel_operation
from ticketd.store.tables import Operation

ops_app = typer.Typer(help="Long-running operations.", no_args_is_help=True)


@ops_app.command("list")
def ops_list(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="The tenant's slug.")],
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """The newest operations of a tenant."""
    table = Table("id", "kind", "status", "done", "total", "created", "finished")
    with cli_context(ctx).transaction() as db:
        owner = identity.tenant_by_slug(db, tenant)
        query = select(Operation).where(Operation.tenant_id == owner.id, Operation.parent_id.is_(None))
        for operation in db.scalars(query.order_by(Operation.id.desc()).limit(limit)):
            table.add_row(
                str(operation.id),
                operation.kind,
                operation.status,
                str(operation.progress_done),
                str(operation.progress_total or ""),
                operation.created_at.isoformat(timespec="seconds"),
                operation.finished_at.isoformat(timespec="seconds") if operation.finished_at else "",
            )
    console.print(table)


@ops_app.command("show")
def ops_show(ctx: typer.Context, operation_id: Annotated[int, typer.Argument()]) -> None:
    """One operation, as JSON."""
    with cli_context(ctx).transaction() as db:
        operation = _operation(db, operation_id)
        document = {
            "id": operation.id,
            "kind": operation.kind,
            "status": operation.status,
            "progress": {"done": operation.progress_done, "total": operation.progress_total},
            "created_at": operation.created_at,
            "started_at": operation.started_at,
            "finished_at": operation.finished_at,
            "result": operation.result,
            "error": operation.error,
        }
    typer.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_UTC_Z).decode())


@ops_app.command("cancel")
def ops_cancel(ctx: typer.Context, operation_id: Annotated[int, typer.Argument()]) -> None:
    """Cancel a pending or running operation; what it committed stays."""
    with cli_context(ctx).transaction() as db:
        operation = _operation(db, operation_id)
        cancel_operation(db, operation)
    typer.echo(f"operation {operation_id} canceled")


def _operation(db: Session, operation_id: int) -> Operation:
    """The operation, or a clear error and exit 1."""
    operation = db.get(Operation, operation_id)
    if operation is None:
        console.print(f"[red]error:[/red] no operation {operation_id}")
        raise typer.Exit(1)
    return operation
