"""`ticketd demo`: the demo tenant, its users, tickets and credentials, printed for a first try."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import typer
from rich.table import Table
from sqlalchemy import select

from ticketd.assembly.registry import enabled_faces
from ticketd.cli.context import CliContext, cli_context, console
from ticketd.core import identity, operations
from ticketd.core.demo import ensure_demo
from ticketd.core.operation_params import ExportParams
from ticketd.core.principal import Principal, Role
from ticketd.core.worker import worker_for
from ticketd.faces.face import DemoInstallation
from ticketd.store.engine import session_factory, unit_of_work
from ticketd.store.tables import Operation


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        ctx: typer.Context,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
    ) -> None:
        """Create the demo tenant (once) and print its credentials."""
        context = cli_context(ctx)
        with context.transaction() as db:
            credentials = ensure_demo(db, context.token_secret(db))
        operation_id = demo_operation(context, credentials.tenant_id)
        base_url = context.settings.resolved_base_url
        document: dict[str, Any] = {"base_url": base_url, "tenant": credentials.tenant}
        faces = enabled_faces(context.settings)
        for face in faces:
            document[face.name] = face.demo_credentials(credentials)
        document["ticket_ids"] = credentials.ticket_ids
        if as_json:
            typer.echo(orjson.dumps(document).decode())
            return
        table = Table("user", "password", title=f"demo tenant '{credentials.tenant}'")
        for name, password in credentials.passwords.items():
            table.add_row(name, password)
        console.print(table)
        console.print(f"API key id:     [bold]{credentials.api_key_id}[/bold]")
        console.print(f"API key secret: [bold]{credentials.api_key_secret}[/bold]")
        console.print("Try:")
        installation = DemoInstallation(credentials, base_url, operation_id)
        for face in faces:
            for example in face.demo_examples(installation):
                typer.echo(f"  {example}")


def demo_operation(context: CliContext, tenant_id: int) -> int:
    """One real operation to look at (an export of the demo tickets), run to completion once."""
    sessions = session_factory(context.engine())
    with unit_of_work(sessions, write=True) as db:
        existing = db.scalar(
            select(Operation.id).where(Operation.tenant_id == tenant_id).order_by(Operation.id)
        )
        if existing is not None:
            return existing
        admin = identity.user_by_username(db, tenant_id=tenant_id, username="admin")
        assert admin is not None
        principal = Principal(tenant_id=tenant_id, user_id=admin.id, role=Role(admin.role))
        operation_id = operations.start_export(db, principal, ExportParams(format="csv")).id
        db.commit()
    worker = worker_for(context.settings, sessions, mail=False)
    while worker.run_once():
        pass
    return operation_id
