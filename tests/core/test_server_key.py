"""The server's key lives outside the store: a copy of the database unseals no access key's secret
and forges no token."""

from __future__ import annotations

import sqlite3
import stat
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.conftest import World
from ticketd.assembly.app import create_app
from ticketd.assembly.services import build_services
from ticketd.core import identity, signing_keys
from ticketd.core.clock import utcnow
from ticketd.core.demo import ensure_demo
from ticketd.core.server_key import LEGACY_NAME, ServerKeyError, rotate, server_key, server_keys
from ticketd.core.signing_keys import Sealer
from ticketd.core.tokens import issue_token, key_id
from ticketd.core.webhooks import endpoints
from ticketd.settings import Settings
from ticketd.store.engine import build_engine, session_factory, unit_of_work
from ticketd.store.migrate import upgrade
from ticketd.store.tables import ServerSecret, SigningKey, Tenant, User, WebhookEndpoint


def _fresh(path: Path) -> Settings:
    settings = Settings(database_path=path)
    engine = build_engine(settings)
    upgrade(engine)
    engine.dispose()
    return settings


def test_the_embedded_store_gets_a_key_file_of_its_own(tmp_path: Path) -> None:
    settings = _fresh(tmp_path / "store" / "ticketd.sqlite3")
    key = server_key(settings)
    path = tmp_path / "store" / "ticketd.key"
    assert path.read_text().strip() == key and len(key) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert server_key(settings) == key


def test_a_key_that_is_too_short_or_missing_is_refused_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ServerKeyError, match="TICKETD_SECRET_KEY"):
        server_key(Settings(database_path=tmp_path / "a.sqlite3", secret_key="short"))
    with pytest.raises(ServerKeyError, match="TICKETD_SECRET_KEY_FILE"):
        server_key(Settings(database_path=tmp_path / "a.sqlite3", secret_key_file=tmp_path / "none.key"))
    with pytest.raises(ServerKeyError, match="TICKETD_SECRET_KEY or TICKETD_SECRET_KEY_FILE"):
        server_key(Settings(database_url="postgresql+psycopg://u@127.0.0.1:1/db"))


def test_with_only_the_database_nothing_is_unsealed_or_forged(tmp_path: Path) -> None:
    settings = _fresh(tmp_path / "live" / "ticketd.sqlite3")
    engine = build_engine(settings)
    sessions = session_factory(engine)
    key = server_key(settings)
    with unit_of_work(sessions, write=True) as db:
        demo = ensure_demo(db, key)
        db.commit()
    # The thief has a copy of the database (a backup), and nothing else.
    stolen = tmp_path / "stolen.sqlite3"
    with sqlite3.connect(settings.database_path) as live, sqlite3.connect(stolen) as copy:
        live.backup(copy)
    thief_engine = build_engine(Settings(database_path=stolen))
    with unit_of_work(session_factory(thief_engine), write=False) as db:
        candidates = [row.value for row in db.scalars(select(ServerSecret))] + ["", "ticketd"]
        sealed = list(db.scalars(select(SigningKey)))
        admin = identity.user_by_username(db, tenant_id=demo.tenant_id, username="admin")
        assert admin is not None
        admin_id, version = admin.id, admin.credential_version
    thief_engine.dispose()
    engine.dispose()
    assert sealed
    for candidate in candidates:
        for row in sealed:
            assert Sealer(candidate).open(bytes(row.secret_sealed), row.access_key) is None
    app = create_app(settings)
    with TestClient(app) as client:
        for candidate in candidates:
            forged = issue_token(
                candidate.ljust(32, "x"),
                user_id=admin_id,
                tenant_id=demo.tenant_id,
                credential_version=version,
                now=utcnow(),
                ttl=timedelta(hours=1),
            )
            answer = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {forged}"})
            assert answer.status_code == 401
        # The demo's own SK still works: it is sealed under the key outside the store.
        assert Sealer(key).open(bytes(sealed[0].secret_sealed), sealed[0].access_key) == demo.secret_key


def test_a_store_from_before_moves_off_the_key_it_kept(
    world: World, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    legacy = "an old key that lived in the database " * 2
    with unit_of_work(sessions, write=True) as db:
        db.add(ServerSecret(name=LEGACY_NAME, value=legacy))
        user = db.get(User, world.agent.user_id)
        assert user is not None
        pair = signing_keys.create(db, Sealer(legacy), user=user)
        db.commit()
    services = build_services(settings)
    try:
        with unit_of_work(sessions, write=False) as db:
            assert db.get(ServerSecret, LEGACY_NAME) is None
            row = db.get(SigningKey, pair.access_key)
            assert row is not None
            assert (
                Sealer(services.token_secret).open(bytes(row.secret_sealed), pair.access_key)
                == pair.secret_key
            )
    finally:
        services.close()


def test_a_rotation_signs_anew_and_keeps_what_was_signed(tmp_path: Path) -> None:
    settings = _fresh(tmp_path / "ticketd.sqlite3")
    app = create_app(settings)
    with TestClient(app) as client:
        with unit_of_work(app.services.sessions, write=True) as db:
            demo = ensure_demo(db, server_key(settings))
            tenant_id = db.scalars(select(Tenant.id).where(Tenant.slug == demo.tenant)).one()
            endpoint, webhook_secret = endpoints.create_endpoint(
                db,
                Sealer(server_key(settings)),
                tenant_id=tenant_id,
                url="https://8.8.8.8/x",
                allow_private=False,
            )
            db.commit()
        login = {"tenant": demo.tenant, "username": "admin", "password": demo.passwords["admin"]}
        before = client.post("/api/v1/auth/token", json=login).json()["access_token"]
    old_key = server_key(settings)
    rotate(settings)
    keys = server_keys(settings)
    assert keys[0] == old_key and len(keys) == 2
    assert stat.S_IMODE((tmp_path / "ticketd.key").stat().st_mode) == 0o600
    restarted = create_app(settings)  # a server's next start
    with TestClient(restarted) as client:
        after = client.post("/api/v1/auth/token", json=login).json()["access_token"]
        assert jwt.get_unverified_header(after)["kid"] == key_id(keys[-1])
        assert jwt.get_unverified_header(before)["kid"] == key_id(old_key)
        for token in (before, after):
            assert (
                client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {token}"}).status_code == 200
            )
        with unit_of_work(restarted.services.sessions, write=False) as db:
            row = db.get(SigningKey, demo.access_key)
            assert row is not None
            # Sealed again under the new key at the start: it opens with the new key alone.
            assert Sealer(keys[-1]).open(bytes(row.secret_sealed), row.access_key) == demo.secret_key
            hook = db.get(WebhookEndpoint, endpoint.id)
            assert hook is not None
            assert Sealer(keys[-1]).open(bytes(hook.secret_sealed), hook.id) == webhook_secret
        # A token signed with a key the server does not hold is refused, whatever it claims.
        forged = jwt.encode({"sub": "1"}, "y" * 40, algorithm="HS256", headers={"kid": key_id(old_key)})
        assert client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
