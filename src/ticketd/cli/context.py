"""What every command shares: the settings, and a store opened (and migrated) on demand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ticketd.core import identity
from ticketd.core.errors import DomainError
from ticketd.core.server_key import ServerKeyError, retire_stored_key, server_key
from ticketd.settings import Settings
from ticketd.store.engine import build_engine, session_factory, unit_of_work
from ticketd.store.migrate import StoreTooNew, is_current, upgrade
from ticketd.store.tables import Tenant, User

console = Console(stderr=True)


@dataclass
class CliContext:
    settings: Settings
    _engine: Engine | None = field(default=None, repr=False)

    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = build_engine(self.settings)
            try:
                current = is_current(self._engine)
            except StoreTooNew as exc:
                console.print(f"[red]error:[/red] {exc}")
                raise typer.Exit(2) from exc
            if not current:
                upgrade(self._engine)
        return self._engine

    def token_secret(self, db: Session) -> str:
        """The server's key every process signs and seals with (core/server_key.py)."""
        try:
            key = server_key(self.settings)
        except ServerKeyError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
        retire_stored_key(db, key)
        return key

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work; committed if the block finishes, domain errors shown plainly."""
        try:
            with unit_of_work(session_factory(self.engine()), write=True) as db:
                yield db
                db.commit()
        except DomainError as exc:
            console.print(f"[red]error:[/red] {exc.message}")
            for field_error in getattr(exc, "errors", []):
                console.print(f"  {field_error.pointer.lstrip('/')}: {field_error.detail}", markup=False)
            raise typer.Exit(1) from exc


def tenant_user(db: Session, tenant: str, username: str) -> tuple[Tenant, User]:
    """The tenant by slug and one of its users by name; a clear error and exit 1 when either is missing."""
    owner = identity.tenant_by_slug(db, tenant)
    user = identity.user_by_username(db, tenant_id=owner.id, username=username)
    if user is None:
        console.print(f"[red]error:[/red] no user {username!r} in tenant {tenant!r}")
        raise typer.Exit(1)
    return owner, user


def cli_context(ctx: typer.Context) -> CliContext:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliContext)
    return obj
