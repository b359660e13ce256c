"""Alembic, driven from code: `ticketd db upgrade`, `ticketd serve` and the tests all call `upgrade`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


class StoreTooNew(Exception):
    """The store was migrated by a newer ticketd than this one: serving it could corrupt it."""


def is_current(engine: Engine) -> bool:
    """Whether the store is at this code's latest revision; StoreTooNew when it is beyond it."""
    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    known = {revision.revision for revision in script.walk_revisions()}
    unknown = sorted(set(current) - known)
    if unknown:
        heads = ", ".join(script.get_heads())
        raise StoreTooNew(
            f"the store is at revision {', '.join(unknown)}, which this version of ticketd (whose latest "
            f"is {heads}) does not know: a newer ticketd made it. Run that version, or restore a "
            "backup made by this one."
        )
    return set(current) == set(script.get_heads())
