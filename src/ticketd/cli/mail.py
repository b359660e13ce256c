"""`ticketd channel email ...` and `ticketd mail deliver`: a tenant's mail channels, and a raw
message handed over by a mail server's pipe (Postfix's pipe transport, procmail, fetchmail's mda)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from ticketd.cli.context import cli_context, console
from ticketd.core import identity
from ticketd.core.mail import channels
from ticketd.core.mail.channels import ChannelSettings, OnClosed, UnknownSenders
from ticketd.core.mail.inbound import HEAD_BYTES, MailLimits, take, take_oversized
from ticketd.core.principal import Principal, Role
from ticketd.store.engine import is_store_outage

channel_app = typer.Typer(help="Channels customers reach a tenant by.", no_args_is_help=True)
email_app = typer.Typer(help="Mail channels: the addresses customers write to.", no_args_is_help=True)
channel_app.add_typer(email_app, name="email")
mail_app = typer.Typer(help="Mail.", no_args_is_help=True)

# sysexits.h: what a mail server's pipe takes as "try again later".
EX_TEMPFAIL = 75
TenantOption = Annotated[str, typer.Option("--tenant", "-t", help="The tenant's slug.")]


def _operator(tenant_id: int) -> Principal:
    # The operator acts as the tenant's admin would (user 0 is no one: nothing is recorded as theirs).
    return Principal(tenant_id=tenant_id, user_id=0, role=Role.ADMIN)


@email_app.command("add")
def email_add(
    ctx: typer.Context,
    address: Annotated[
        str, typer.Argument(help="The address customers write to, e.g. support@acme.example.")
    ],
    tenant: TenantOption,
    unknown_senders: Annotated[
        UnknownSenders, typer.Option(help="create: unknown senders become customers; refuse: recorded only.")
    ] = UnknownSenders.CREATE,
    on_closed: Annotated[
        OnClosed, typer.Option(help="A reply to a closed ticket: reopen it or start a new one.")
    ] = (OnClosed.REOPEN),
    acknowledge: Annotated[
        bool, typer.Option(help="Acknowledge new tickets by mail (with mail out).")
    ] = True,
) -> None:
    """Add a mail channel to a tenant."""
    with cli_context(ctx).transaction() as db:
        owner = identity.tenant_by_slug(db, tenant)
        settings = ChannelSettings(
            unknown_senders=unknown_senders, acknowledge=acknowledge, on_closed=on_closed
        )
        channel = channels.create(db, _operator(owner.id), address, settings)
        shown = (channel.id, channel.address)
    typer.echo(f"mail channel {shown[0]} added: {shown[1]}")


@email_app.command("list")
def email_list(ctx: typer.Context, tenant: TenantOption) -> None:
    """A tenant's mail channels."""
    with cli_context(ctx).transaction() as db:
        owner = identity.tenant_by_slug(db, tenant)
        rows = [
            (str(c.id), c.address, c.unknown_senders, "yes" if c.acknowledge else "no", c.on_closed)
            for c in channels.list_channels(db, _operator(owner.id))
        ]
    table = Table(
        "id", "address", "unknown senders", "acknowledge", "on closed", title=f"mail channels of {tenant}"
    )
    for row in rows:
        table.add_row(*row)
    console.print(table if rows else f"{tenant} has no mail channel")


@email_app.command("remove")
def email_remove(ctx: typer.Context, channel_id: int, tenant: TenantOption) -> None:
    """Remove a mail channel (its messages' records stay)."""
    with cli_context(ctx).transaction() as db:
        owner = identity.tenant_by_slug(db, tenant)
        channels.delete(db, _operator(owner.id), channel_id)
    typer.echo(f"mail channel {channel_id} removed")


@mail_app.command("deliver")
def mail_deliver(ctx: typer.Context, tenant: TenantOption) -> None:
    """Take one raw message from standard input, as a mail server's pipe hands it over; prints the
    outcome as JSON. It writes the store directly: no server needs to run."""
    context = cli_context(ctx)
    limits = MailLimits.of(context.settings)
    raw = sys.stdin.buffer.read(limits.max_bytes + 1)
    size = len(raw)
    while chunk := sys.stdin.buffer.read(1 << 20):  # past the limit: counted, not kept
        size += len(chunk)
    try:
        with context.transaction() as db:
            owner = identity.tenant_by_slug(db, tenant)
            if size > limits.max_bytes:
                outcome = take_oversized(db, owner, raw[:HEAD_BYTES], size, limits)
            else:
                outcome = take(db, owner, raw, limits)
    except Exception as exc:
        if not is_store_outage(exc):
            raise
        # EX_TEMPFAIL: the mail server keeps the message and tries again later.
        console.print(f"[red]error:[/red] the store is not answering ({type(exc).__name__}); try again later")
        raise typer.Exit(EX_TEMPFAIL) from exc
    typer.echo(
        json.dumps(
            {
                "message_id": outcome.message_id,
                "action": outcome.action,
                "ticket_id": outcome.ticket_id,
                "reason": outcome.reason,
            }
        )
    )
