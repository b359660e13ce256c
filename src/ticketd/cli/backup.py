"""`ticketd backup FILE` and `ticketd restore FILE`: the embedded store and its key.

The backup is FILE (the store, consistent and checked) and, when the key is a file, FILE.key beside
it: a copy without its key cannot read the secrets sealed in it nor honour the tokens it signed.
On PostgreSQL the database's own tools do this job (`pg_dump`, `pg_restore`: see the README).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import create_engine

from ticketd.cli.context import cli_context, console
from ticketd.core.server_key import KEY_FILE_NAME, ServerKeyError, key_file, server_keys
from ticketd.settings import Settings
from ticketd.store.backup import BackupError, check, copy_store, restore_store
from ticketd.store.migrate import StoreTooNew, is_current

KEY_SUFFIX = ".key"


def register(app: typer.Typer) -> None:
    @app.command()
    def backup(
        ctx: typer.Context,
        file: Annotated[Path, typer.Argument(help="Where the copy goes (and FILE.key, the key).")],
    ) -> None:
        """Copy the embedded store while the server runs, with its key."""
        settings = _embedded(cli_context(ctx).settings)
        try:
            copied = copy_store(_store_path(settings), file)
        except BackupError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from exc
        console.print(
            f"store copied to {copied.path} ({copied.bytes:,} bytes, {copied.seconds:.1f} s), checked"
        )
        console.print(_save_key(settings, file))

    @app.command()
    def restore(
        ctx: typer.Context,
        file: Annotated[
            Path, typer.Argument(help="A copy made by `ticketd backup` (and FILE.key beside it).")
        ],
    ) -> None:
        """Put a backup back as the embedded store (stop the servers first; start them after)."""
        settings = _embedded(cli_context(ctx).settings)
        try:
            check(file)
            _refuse_newer(file)
            restored = restore_store(file, _store_path(settings))
        except (BackupError, StoreTooNew) as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from exc
        console.print(f"store restored to {restored.path} ({restored.seconds:.1f} s), checked")
        console.print(_put_key_back(settings, file))
        console.print("start the server again: it reads the restored store from its first request")


def _embedded(settings: Settings) -> Settings:
    if not settings.is_sqlite:
        console.print(
            "[red]error:[/red] backup and restore are for the embedded store; on PostgreSQL use "
            "pg_dump and pg_restore (see the README's Backups section)"
        )
        raise typer.Exit(2)
    return settings


def _store_path(settings: Settings) -> Path:
    return Path(settings.resolved_database_url.removeprefix("sqlite:///"))


def _refuse_newer(file: Path) -> None:
    """A backup made by a newer ticketd would be served wrongly by this one."""
    if not file.exists():
        raise BackupError(f"there is no backup at {file}")
    engine = create_engine(f"sqlite:///{file}")
    try:
        is_current(engine)
    finally:
        engine.dispose()


def _save_key(settings: Settings, file: Path) -> str:
    if settings.secret_key:
        return (
            "the server key is set by TICKETD_SECRET_KEY, not kept in a file: keep it with this backup "
            "(without it the copy's sealed secrets and signed tokens cannot be used)"
        )
    try:
        server_keys(settings)  # made on first start, if this store has never started
    except ServerKeyError as exc:
        return f"the server key could not be read ({exc}): keep it with this backup"
    source = key_file(settings)
    assert source is not None
    target = file.with_name(file.name + KEY_SUFFIX)
    _copy_private(source, target)
    return f"server key copied to {target} (keep the two together, and as private as the key)"


def _put_key_back(settings: Settings, file: Path) -> str:
    saved = file.with_name(file.name + KEY_SUFFIX)
    if settings.secret_key:
        return "the server key comes from TICKETD_SECRET_KEY: set it to the key kept with this backup"
    if not saved.exists():
        return f"no key beside the backup ({saved}): put the key kept with it in place before starting"
    target = key_file(settings) or _store_path(settings).parent / KEY_FILE_NAME
    if target.exists() and target.read_bytes() != saved.read_bytes():
        kept = target.with_name(f"{target.name}.before-restore-{datetime.now(UTC):%Y%m%dT%H%M%S}")
        os.replace(target, kept)
        _copy_private(saved, target)
        return f"server key restored to {target}; the one it replaced is kept as {kept}"
    _copy_private(saved, target)
    return f"server key restored to {target}"


def _copy_private(source: Path, target: Path) -> None:
    partial = target.with_name(f".{target.name}.partial")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out, source.open("rb") as into:
        shutil.copyfileobj(into, out)
    os.replace(partial, target)
