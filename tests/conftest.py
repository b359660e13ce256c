"""Fixtures: a real store on SQLite and on PostgreSQL, an app over it, and a populated world.

Every test that takes `settings` runs twice, once per backend. PostgreSQL is required under
CI=true; elsewhere its half is skipped when the server is not running.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from ticketd.assembly.app import TicketdApp, create_app
from ticketd.core import identity
from ticketd.core.principal import ALL_SCOPES, Principal, Role
from ticketd.settings import Settings
from ticketd.store.engine import build_engine, session_factory, unit_of_work
from ticketd.store.migrate import upgrade
from ticketd.store.tables import Base, Tenant, User

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
POSTGRES_ADMIN_URL = os.environ.get(
    "TICKETD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _libpq(url: str) -> str:
    parsed = make_url(url)
    return (
        f"host={parsed.host} port={parsed.port or 5432} user={parsed.username or ''} dbname={parsed.database}"
    )


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = build_engine(Settings(database_path=path))
    upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    name = f"ticketd_test_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(_libpq(POSTGRES_ADMIN_URL), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI and is not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = build_engine(Settings(database_url=url))
    upgrade(engine)
    engine.dispose()
    yield url
    with psycopg.connect(_libpq(POSTGRES_ADMIN_URL), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "ticketd.sqlite3"
        shutil.copyfile(template, path)
        return Settings(database_path=path, secret_key="test-secret-" + "x" * 32)
    url: str = request.getfixturevalue("postgres_url")
    _truncate(url)
    return Settings(database_url=url, secret_key="test-secret-" + "x" * 32)


def _truncate(url: str) -> None:
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with psycopg.connect(_libpq(url), autocommit=True) as connection:
        connection.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = build_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def db(sessions: sessionmaker[Session]) -> Iterator[Session]:
    # Not a write transaction: other fixtures and the app write on their own connections meanwhile.
    with unit_of_work(sessions, write=False) as session:
        yield session


@dataclass
class Actor:
    principal: Principal
    username: str
    password: str
    key_id: str
    key_secret: str

    @property
    def basic(self) -> tuple[str, str]:
        return (self.key_id, self.key_secret)

    @property
    def user_id(self) -> int:
        return self.principal.user_id


@dataclass
class World:
    tenant_id: int
    admin: Actor
    agent: Actor
    customer: Actor
    customer2: Actor
    outsider: Actor  # an admin of another tenant


def _actor(db: Session, tenant: Tenant, username: str, role: Role) -> Actor:
    password = f"pw-{username}-{secrets.token_hex(4)}"
    user = identity.create_user(
        db,
        tenant=tenant,
        username=username,
        role=role,
        password=password,
        email=f"{username}@{tenant.slug}.example",
    )
    issued = identity.create_api_key(db, user=user, name=f"{username} key", scopes=frozenset(ALL_SCOPES))
    principal = Principal(
        tenant_id=tenant.id, user_id=user.id, role=role, credential_id=f"key:{issued.key.id}"
    )
    return Actor(principal, username, password, issued.key.id, issued.secret)


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    with unit_of_work(sessions, write=True) as db:
        acme = identity.create_tenant(db, slug="acme", name="Acme")
        other = identity.create_tenant(db, slug="other", name="Other")
        built = World(
            tenant_id=acme.id,
            admin=_actor(db, acme, "admin", Role.ADMIN),
            agent=_actor(db, acme, "agent", Role.AGENT),
            customer=_actor(db, acme, "customer", Role.CUSTOMER),
            customer2=_actor(db, acme, "customer2", Role.CUSTOMER),
            outsider=_actor(db, other, "outsider", Role.ADMIN),
        )
        db.commit()
    return built


@pytest.fixture
def app(settings: Settings) -> TicketdApp:
    return create_app(settings)


@pytest.fixture
def client(app: TicketdApp) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def count_rows(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


REDIS_URL = os.environ.get("TICKETD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The machine's Redis. Required under CI=true; elsewhere its tests are skipped without it."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if IN_CI:
            pytest.fail(f"Redis is required under CI and is not reachable: {exc}")
        pytest.skip(f"Redis not reachable: {exc}")
    return REDIS_URL


@pytest.fixture
def redis_prefix() -> str:
    """Keys of their own for each test, so tests sharing the machine's Redis never meet."""
    return f"ticketd-test-{secrets.token_hex(6)}"


def scoped_key(sessions: sessionmaker[Session], actor: Actor, name: str, scopes: set[str]) -> tuple[str, str]:
    """Another API key of the actor's user, with only these scopes: its id and secret."""
    with unit_of_work(sessions, write=True) as db:
        user = db.get(User, actor.user_id)
        assert user is not None
        issued = identity.create_api_key(db, user=user, name=name, scopes=frozenset(scopes))
        db.commit()
    return issued.key.id, issued.secret
