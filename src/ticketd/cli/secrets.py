"""`ticketd secrets rotate`: a new server key, the old ones kept to verify what they signed."""

from __future__ import annotations

import typer

from ticketd.cli.context import cli_context, console
from ticketd.core.server_key import ServerKeyError, rotate

secrets_app = typer.Typer(help="The server's key.", no_args_is_help=True)


@secrets_app.command("rotate")
def secrets_rotate(ctx: typer.Context) -> None:
    """Add a new server key to the key file; it signs and seals from the servers' next start."""
    context = cli_context(ctx)
    try:
        path = rotate(context.settings)
    except ServerKeyError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    typer.echo(f"a new key was added to {path}")
    typer.echo(
        "Restart every server (and copy the file to every host first): new tokens are signed with the new "
        "key, tokens signed before stay valid until they expire (at most 24 hours), and access keys are "
        "sealed again under the new key at the first start. Older lines can be deleted after that."
    )
