"""`ticketd`: serve, migrate, manage tenants, users and keys, import tickets, load the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from ticketd.cli import admin, backup, demo, mail, ops, secrets, serve, tickets, webhooks, worker
from ticketd.cli.context import CliContext, console
from ticketd.settings import Settings

app = typer.Typer(
    help="ticketd: a self-hosted ticket status service.", no_args_is_help=True, add_completion=False
)


@app.callback()
def root(
    ctx: typer.Context,
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL of the store (env TICKETD_DATABASE_URL).")
    ] = None,
    database_path: Annotated[
        Path | None, typer.Option(help="The SQLite file of the embedded store (env TICKETD_DATABASE_PATH).")
    ] = None,
) -> None:
    overrides: dict[str, object] = {}
    if database_url:
        overrides["database_url"] = database_url
    if database_path:
        overrides["database_path"] = database_path
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        # Named as the operator sets it, never as a stack trace.
        for error in exc.errors():
            name = "TICKETD_" + "_".join(str(part) for part in error["loc"][:1]).upper()
            console.print(f"[red]error:[/red] {name}: {error['msg']}")
        raise typer.Exit(2) from None
    context = CliContext(settings)
    ctx.obj = context
    ctx.call_on_close(context.close)


serve.register(app)
demo.register(app)
worker.register(app)
backup.register(app)
app.add_typer(admin.db_app, name="db")
app.add_typer(admin.tenant_app, name="tenant")
app.add_typer(admin.user_app, name="user")
app.add_typer(admin.key_app, name="key")
app.add_typer(tickets.ticket_app, name="ticket")
app.add_typer(ops.ops_app, name="ops")
app.add_typer(secrets.secrets_app, name="secrets")
app.add_typer(webhooks.webhook_app, name="webhook")
app.add_typer(mail.channel_app, name="channel")
app.add_typer(mail.mail_app, name="mail")


def main() -> None:
    app()
