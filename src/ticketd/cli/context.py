"""What every command shares: the settings, and a store opened (and migrated) on demand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ticketd.core.errors import DomainError
from ticketd.core.identity import TOKEN_SECRET_NAME, server_secret
from ticketd.settings import Settings
from ticketd.store.engine import build_engine, session_factory, unit_of_work
from ticketd.store.migrate import is_current, upgrade

console = Console(stderr=True)


@dataclass
class CliContext:
    settings: Settings
    _engine: Engine | None = field(default=None, repr=False)

    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = build_engine(self.settings)
            if not is_current(self._engine):
                upgrade(self._engine)
        return self._engine

    def token_secret(self, db: Session) -> str:
        """The server secret every process signs and seals with (see web.services)."""
        return self.settings.secret_key or server_secret(db, TOKEN_SECRET_NAME)

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
            raise typer.Exit(1) from exc


def cli_context(ctx: typer.Context) -> CliContext:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliContext)
    return obj
