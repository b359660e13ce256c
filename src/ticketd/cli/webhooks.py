"""`ticketd webhook`: a tenant's webhook endpoints, as admins manage them through the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from ticketd.cli.context import cli_context, console
from ticketd.core import identity
from ticketd.core.signing_keys import Sealer
from ticketd.core.webhooks import endpoints
from ticketd.core.webhooks.endpoints import EndpointChanges
from ticketd.core.webhooks.messages import EVENT_TYPES

webhook_app = typer.Typer(help="Webhook endpoints (Standard Webhooks).", no_args_is_help=True)
TenantOption = Annotated[str, typer.Option("--tenant", "-t", help="The tenant's slug.")]
EndpointArgument = Annotated[str, typer.Argument(help="The endpoint's id (ep_…).")]


@webhook_app.command("create")
def webhook_create(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="Where messages are POSTed (http or https).")],
    tenant: TenantOption,
    event: Annotated[
        list[str] | None,
        typer.Option(
            "--event",
            "-e",
            help=f"An event type to send (repeat; none means all): {', '.join(sorted(EVENT_TYPES))}.",
        ),
    ] = None,
    description: Annotated[str, typer.Option(help="What the endpoint is for.")] = "",
) -> None:
    """Add an endpoint; its signing secret is shown once."""
    context = cli_context(ctx)
    with context.transaction() as db:
        owner = identity.tenant_by_slug(db, tenant)
        endpoint, secret = endpoints.create_endpoint(
            db,
            Sealer(context.token_secret(db)),
            tenant_id=owner.id,
            url=url,
            events=event or [],
            description=description,
            allow_private=context.settings.webhook_allow_private,
        )
        endpoint_id = endpoint.id
    typer.echo(f"endpoint: {endpoint_id}")
    typer.echo(f"secret:   {secret}")
    console.print("[yellow]The secret is shown only now; give it to the receiver.[/yellow]")


@webhook_app.command("list")
def webhook_list(ctx: typer.Context, tenant: TenantOption) -> None:
    """List a tenant's endpoints (never their secrets)."""
    table = Table("id", "url", "events", "state", "description")
    with cli_context(ctx).transaction() as db:
        owner = identity.tenant_by_slug(db, tenant)
        for endpoint in endpoints.list_endpoints(db, tenant_id=owner.id):
            state = f"disabled: {endpoint.disabled_reason}" if endpoint.disabled else "enabled"
            table.add_row(
                endpoint.id, endpoint.url, ", ".join(endpoint.events) or "all", state, endpoint.description
            )
    console.print(table)


def _set_disabled(ctx: typer.Context, endpoint_id: str, tenant: str, disabled: bool) -> None:
    context = cli_context(ctx)
    with context.transaction() as db:
        owner = identity.tenant_by_slug(db, tenant)
        endpoints.update_endpoint(
            db,
            tenant_id=owner.id,
            endpoint_id=endpoint_id,
            changes=EndpointChanges(disabled=disabled),
            allow_private=context.settings.webhook_allow_private,
        )
    typer.echo(f"endpoint {endpoint_id} {'disabled' if disabled else 'enabled'}")


@webhook_app.command("disable")
def webhook_disable(ctx: typer.Context, endpoint_id: EndpointArgument, tenant: TenantOption) -> None:
    """Stop sending to an endpoint; its messages wait until it is enabled."""
    _set_disabled(ctx, endpoint_id, tenant, True)


@webhook_app.command("enable")
def webhook_enable(ctx: typer.Context, endpoint_id: EndpointArgument, tenant: TenantOption) -> None:
    """Send to an endpoint again (after it was disabled by hand or for failing)."""
    _set_disabled(ctx, endpoint_id, tenant, False)


@webhook_app.command("delete")
def webhook_delete(ctx: typer.Context, endpoint_id: EndpointArgument, tenant: TenantOption) -> None:
    """Delete an endpoint and its delivery log."""
    with cli_context(ctx).transaction() as db:
        owner = identity.tenant_by_slug(db, tenant)
        endpoints.delete_endpoint(db, tenant_id=owner.id, endpoint_id=endpoint_id)
    typer.echo(f"endpoint {endpoint_id} deleted")


@webhook_app.command("rotate")
def webhook_rotate(ctx: typer.Context, endpoint_id: EndpointArgument, tenant: TenantOption) -> None:
    """Give an endpoint a new secret (shown once); the previous one signs too for the overlap."""
    context = cli_context(ctx)
    overlap = timedelta(seconds=context.settings.webhook_secret_overlap_seconds)
    with context.transaction() as db:
        owner = identity.tenant_by_slug(db, tenant)
        _, secret = endpoints.rotate_secret(
            db, Sealer(context.token_secret(db)), tenant_id=owner.id, endpoint_id=endpoint_id, overlap=overlap
        )
    typer.echo(f"secret: {secret}")
    console.print(
        f"[yellow]The previous secret signs too for {overlap}; this one is shown only now.[/yellow]"
    )
