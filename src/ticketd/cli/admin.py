"""`ticketd db|tenant|user|key`: the store, organisations, people and program credentials."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Literal

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketd.assembly.registry import FACE_NAMES
from ticketd.cli.context import cli_context, console, tenant_user
from ticketd.core import attachments, identity, signing_keys
from ticketd.core.clock import utcnow
from ticketd.core.principal import DEFAULT_KEY_SCOPES, Role
from ticketd.limiting.tenant_limits import clear_tenant_limits, set_tenant_limits, tenant_limits
from ticketd.store.migrate import upgrade
from ticketd.store.tables import User

db_app = typer.Typer(help="The store.", no_args_is_help=True)
tenant_app = typer.Typer(help="Organisations.", no_args_is_help=True)
user_app = typer.Typer(help="People.", no_args_is_help=True)
key_app = typer.Typer(help="API keys for programs.", no_args_is_help=True)

TenantOption = Annotated[str, typer.Option("--tenant", "-t", help="The tenant's slug.")]


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply every pending migration."""
    upgrade(cli_context(ctx).engine())
    console.print("store is up to date")


@tenant_app.command("create")
def tenant_create(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="Short unique name, e.g. 'acme'.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
) -> None:
    """Create a tenant."""
    with cli_context(ctx).transaction() as db:
        tenant = identity.create_tenant(db, slug=slug, name=name or slug)
        tenant_id = tenant.id
    typer.echo(f"tenant {slug} created (id {tenant_id})")


@tenant_app.command("limits")
def tenant_limits_command(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="The tenant's slug.")],
    face: Annotated[str | None, typer.Option(help=f"The face to set: {', '.join(FACE_NAMES)}.")] = None,
    credential: Annotated[str | None, typer.Option(help="Per credential, e.g. '600/minute'.")] = None,
    ip: Annotated[
        str | None, typer.Option(help="Per client IP within the tenant, e.g. '3000/minute'.")
    ] = None,
    service_hours: Annotated[
        str | None, typer.Option(help="Daily window in the face's time zone, e.g. '18:00-06:00'.")
    ] = None,
    daily_allowance: Annotated[int | None, typer.Option(help="Requests per day; 0 for none.")] = None,
    reset: Annotated[bool, typer.Option(help="Back to the face's defaults.")] = False,
    attachment_quota: Annotated[
        str | None,
        typer.Option(
            help="Storage for the tenant's files (every face): bytes, or with KiB, MiB, GiB, TiB; 'default'."
        ),
    ] = None,
) -> None:
    """Show a tenant's own limits, or set them on one face (they reach every server within seconds),
    and its storage for files."""
    quota = _bytes_or_default(attachment_quota) if attachment_quota is not None else None
    changing = reset or any(value is not None for value in (credential, ip, service_hours, daily_allowance))
    if changing and face is None:
        console.print("[red]error:[/red] --face is required to change limits")
        raise typer.Exit(2)
    if face is not None and face not in FACE_NAMES:
        console.print(f"[red]error:[/red] --face must be one of {', '.join(FACE_NAMES)}")
        raise typer.Exit(2)
    context = cli_context(ctx)
    with context.transaction() as db:
        owner = identity.tenant_by_slug(db, slug)
        if quota is not None:
            attachments.set_quota(db, owner.id, None if quota == "default" else quota)
        storage = attachments.storage_use(db, owner.id, attachments.Limits.of(context.settings))
        if reset and face is not None:
            clear_tenant_limits(db, owner, face)
        elif changing and face is not None:
            set_tenant_limits(
                db,
                owner,
                face,
                credential=credential,
                ip=ip,
                service_hours=service_hours,
                daily_allowance=daily_allowance,
            )
        rows = [
            (row.face, row.credential_limit, row.ip_limit, row.service_hours, row.daily_allowance)
            for row in tenant_limits(db, owner)
        ]
    table = Table("face", "credential", "ip", "service hours", "daily allowance", title=f"limits of {slug}")
    for row in rows:
        table.add_row(*("default" if value is None else str(value) for value in row))
    console.print(table if rows else f"{slug} has the faces' default limits")
    console.print(f"files: {storage.used} of {storage.quota} bytes used")


UNITS = {"": 1, "b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}


def _bytes_or_default(text: str) -> int | Literal["default"]:
    if text.strip().lower() == "default":
        return "default"
    match = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", text)
    if match is None or match.group(2).lower() not in UNITS:
        console.print(
            f"[red]error:[/red] --attachment-quota takes bytes (e.g. 5GiB) or 'default', not {text!r}"
        )
        raise typer.Exit(2)
    return int(match.group(1)) * UNITS[match.group(2).lower()]


@user_app.command("create")
def user_create(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument()],
    tenant: TenantOption,
    role: Annotated[Role, typer.Option(help="admin, agent or customer.")] = Role.AGENT,
    password: Annotated[
        str | None,
        typer.Option(
            help="Asked for when omitted; env TICKETD_NEW_PASSWORD also works.", envvar="TICKETD_NEW_PASSWORD"
        ),
    ] = None,
    email: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create a user."""
    secret = password or typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with cli_context(ctx).transaction() as db:
        owner = identity.tenant_by_slug(db, tenant)
        user = identity.create_user(
            db, tenant=owner, username=username, role=role, password=secret, email=email
        )
        user_id = user.id
    typer.echo(f"user {username} created (id {user_id}, role {role.value})")


@user_app.command("disable")
def user_disable(
    ctx: typer.Context, username: Annotated[str, typer.Argument()], tenant: TenantOption
) -> None:
    """Disable a user: their tokens, keys and sessions stop working at once, on every process."""
    with cli_context(ctx).transaction() as db:
        _, person = tenant_user(db, tenant, username)
        identity.set_disabled(db, person, True)
    typer.echo(f"user {username} disabled")


@user_app.command("enable")
def user_enable(ctx: typer.Context, username: Annotated[str, typer.Argument()], tenant: TenantOption) -> None:
    """Enable a disabled user again (tokens issued before stay revoked)."""
    with cli_context(ctx).transaction() as db:
        _, person = tenant_user(db, tenant, username)
        identity.set_disabled(db, person, False)
    typer.echo(f"user {username} enabled")


@user_app.command("set-password")
def user_set_password(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument()],
    tenant: TenantOption,
    password: Annotated[
        str | None,
        typer.Option(
            help="Asked for when omitted; env TICKETD_NEW_PASSWORD also works.", envvar="TICKETD_NEW_PASSWORD"
        ),
    ] = None,
) -> None:
    """Set a user's password: every token issued before stops working at once."""
    secret = password or typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with cli_context(ctx).transaction() as db:
        _, person = tenant_user(db, tenant, username)
        identity.set_password(db, person, secret)
    typer.echo(f"password of {username} set")


@key_app.command("create")
def key_create(
    ctx: typer.Context,
    tenant: TenantOption,
    user: Annotated[str, typer.Option(help="The user the key acts as.")],
    name: Annotated[str, typer.Option(help="What the key is for.")] = "api key",
    scope: Annotated[
        list[str] | None, typer.Option(help="Repeat for several; default tickets:read, tickets:write.")
    ] = None,
    expires_in_days: Annotated[int | None, typer.Option(min=1)] = None,
) -> None:
    """Create an API key. The secret is shown once and never stored."""
    with cli_context(ctx).transaction() as db:
        _, person = tenant_user(db, tenant, user)
        expires = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
        issued = identity.create_api_key(
            db, user=person, name=name, scopes=frozenset(scope or DEFAULT_KEY_SCOPES), expires_at=expires
        )
        key_id, secret = issued.key.id, issued.secret
    typer.echo(f"key id:     {key_id}")
    typer.echo(f"key secret: {secret}")
    console.print("[yellow]The secret is shown only now; store it safely.[/yellow]")


@key_app.command("create-ak")
def key_create_access_key(
    ctx: typer.Context,
    tenant: TenantOption,
    user: Annotated[str, typer.Option(help="The user the key signs as.")],
) -> None:
    """Create an access key pair (AK/SK) for signed requests (the Huawei face). The SK is shown once."""
    context = cli_context(ctx)
    with context.transaction() as db:
        owner, person = tenant_user(db, tenant, user)
        pair = signing_keys.create(db, signing_keys.Sealer(context.token_secret(db)), user=person)
    typer.echo(f"access key (AK): {pair.access_key}")
    typer.echo(f"secret key (SK): {pair.secret_key}")
    typer.echo(f"domain id:       {owner.id}")
    console.print("[yellow]The secret key is shown only now; store it safely.[/yellow]")


@key_app.command("list")
def key_list(ctx: typer.Context, tenant: TenantOption) -> None:
    """List a tenant's API keys (never their secrets)."""
    table = Table()
    table.add_column("id", no_wrap=True)
    for title in ("name", "user", "scopes", "created", "expires", "revoked"):
        table.add_column(title)
    with cli_context(ctx).transaction() as db:
        owner = identity.tenant_by_slug(db, tenant)
        names = _usernames(db, owner.id)
        for key in identity.list_api_keys(db, tenant_id=owner.id):
            table.add_row(
                key.id,
                key.name,
                names.get(key.user_id, "?"),
                key.scopes,
                _stamp(key.created_at),
                _stamp(key.expires_at),
                _stamp(key.revoked_at),
            )
    console.print(table)


@key_app.command("revoke")
def key_revoke(ctx: typer.Context, key_id: Annotated[str, typer.Argument()]) -> None:
    """Revoke an API key; it stops working at once on every process."""
    with cli_context(ctx).transaction() as db:
        identity.revoke_api_key(db, key_id=key_id)
    typer.echo(f"key {key_id} revoked")


@key_app.command("list-ak")
def key_list_access_keys(ctx: typer.Context, tenant: TenantOption) -> None:
    """List a tenant's access keys (AK/SK pairs; never their secrets)."""
    table = Table("access key", "user", "created", "revoked")
    with cli_context(ctx).transaction() as db:
        owner = identity.tenant_by_slug(db, tenant)
        names = _usernames(db, owner.id)
        for key in signing_keys.list_keys(db, tenant_id=owner.id):
            table.add_row(
                key.access_key,
                names.get(key.user_id, "?"),
                _stamp(key.created_at),
                _stamp(key.revoked_at),
            )
    console.print(table)


@key_app.command("revoke-ak")
def key_revoke_access_key(ctx: typer.Context, access_key: Annotated[str, typer.Argument()]) -> None:
    """Revoke an access key pair (AK/SK); requests it signs are refused at once on every process."""
    with cli_context(ctx).transaction() as db:
        signing_keys.revoke(db, access_key=access_key)
    typer.echo(f"access key {access_key} revoked")


def _usernames(db: Session, tenant_id: int) -> dict[int, str]:
    return {
        row.id: row.username
        for row in db.execute(select(User.id, User.username).where(User.tenant_id == tenant_id))
    }


def _stamp(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else ""
