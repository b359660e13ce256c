"""Upgrades: a store made at every earlier revision, with a row in every table it has, upgrades to
the latest with every row and value kept, on SQLite and on PostgreSQL; and a store made by a newer
ticketd is refused with a clear message instead of being served."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    select,
    text,
)
from sqlalchemy.engine import make_url

from tests.conftest import IN_CI, POSTGRES_ADMIN_URL, _libpq
from ticketd.settings import Settings
from ticketd.store.engine import build_engine
from ticketd.store.migrate import MIGRATIONS, StoreTooNew, is_current, upgrade

STAMP = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
# Integer keys far above anything a migration itself inserts.
KEY = 4242


def _revisions() -> list[str]:
    script = ScriptDirectory(str(MIGRATIONS))
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


REVISIONS = _revisions()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine over a store with no tables at all."""
    if request.param == "sqlite":
        engine = build_engine(Settings(database_path=tmp_path / "walk.sqlite3"))
        yield engine
        engine.dispose()
        return
    name = f"ticketd_walk_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(_libpq(POSTGRES_ADMIN_URL), autocommit=True)
    except psycopg.OperationalError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI and is not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = build_engine(Settings(database_url=url))
    try:
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(_libpq(POSTGRES_ADMIN_URL), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _value(column: Column[Any], table: Table) -> Any:
    """A plausible value of the column's type, distinct enough to be recognised afterwards."""
    kind = column.type
    if isinstance(kind, Boolean):
        return True
    if isinstance(kind, Integer | BigInteger):
        return KEY
    if isinstance(kind, Float | Numeric):
        return 4.5
    if isinstance(kind, DateTime):
        return STAMP
    if isinstance(kind, Date):
        return date(2026, 1, 2)
    if isinstance(kind, LargeBinary):
        return bytes([7]) * (kind.length or 32)
    if isinstance(kind, JSON):
        return {"kept": [1, "two"]}
    if isinstance(kind, String | Text):
        word = f"{table.name[:6]}-{column.name}"[: getattr(kind, "length", None) or 40]
        return word
    raise AssertionError(f"no sample for {table.name}.{column.name} of type {kind!r}")


def _fill(engine: Engine) -> dict[str, dict[str, Any]]:
    """One row in every table the store has now, parents before children."""
    metadata = MetaData()
    metadata.reflect(engine)
    rows: dict[str, dict[str, Any]] = {}
    with engine.begin() as connection:
        for table in metadata.sorted_tables:
            if table.name == "alembic_version" or table.name.startswith("tickets_text"):
                continue
            row: dict[str, Any] = {}
            for column in table.columns:
                parent = next(iter(column.foreign_keys), None)
                if parent is not None and parent.column.table.name in rows:
                    row[column.name] = rows[parent.column.table.name][parent.column.name]
                elif parent is not None and parent.column.table.name == table.name:
                    row[column.name] = None  # a row that points at itself: nothing to point at yet
                else:
                    row[column.name] = _value(column, table)
            connection.execute(table.insert().values(row))
            rows[table.name] = row
    return rows


def _as_stored(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # SQLite keeps no offset: ticketd's stamps are UTC
    if isinstance(value, memoryview):
        return bytes(value)
    return value


@pytest.mark.parametrize("revision", REVISIONS[:-1])
def test_a_store_at_every_earlier_revision_upgrades_with_nothing_lost(
    empty_store: Engine, revision: str
) -> None:
    upgrade(empty_store, revision)
    assert not is_current(empty_store)
    written = _fill(empty_store)
    assert written, "no tables at this revision?"
    upgrade(empty_store)
    assert is_current(empty_store)
    metadata = MetaData()
    metadata.reflect(empty_store)
    with empty_store.connect() as connection:
        for name, row in written.items():
            table = metadata.tables[name]
            still = {key: value for key, value in row.items() if key in table.columns}
            key_columns = [column for column in table.primary_key.columns] or list(table.columns)[:1]
            query = select(table).where(*(column == still[column.name] for column in key_columns))
            found = connection.execute(query).mappings().all()
            assert len(found) == 1, (revision, name)
            stored = {key: _as_stored(value) for key, value in found[0].items() if key in still}
            assert stored == {key: _as_stored(value) for key, value in still.items()}, (revision, name)


def _serve(url_or_path: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ticketd", "serve", "--port", "1"],
        env={**os.environ, "TICKETD_SECRET_KEY": "k" * 40, **url_or_path},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )


def test_a_store_newer_than_the_code_is_refused(empty_store: Engine, tmp_path: Path) -> None:
    upgrade(empty_store)
    with empty_store.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreTooNew, match="9999"):
        is_current(empty_store)
    url = empty_store.url.render_as_string(hide_password=False)
    environment = {"TICKETD_DATABASE_URL": url}
    if url.startswith("sqlite"):
        environment = {"TICKETD_DATABASE_PATH": url.removeprefix("sqlite:///")}
    refused = _serve(environment, tmp_path)
    assert refused.returncode == 2, refused.stderr
    message = " ".join(refused.stderr.split())
    assert "revision 9999" in message and "newer ticketd" in message
    assert "Traceback" not in refused.stderr
    with empty_store.connect() as connection:  # and it was left as it was
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == "9999"
