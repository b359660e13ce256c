"""Admins list and revoke AK/SK pairs through the native API; a revoked pair signs nothing more."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.conftest import World
from tests.faces.huawei.test_huawei_signing import message, signed_headers
from ticketd.assembly.app import TicketdApp
from ticketd.core import signing_keys, tickets
from ticketd.core.signing_keys import Sealer
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import User


def test_an_admin_revokes_an_access_key(
    app: TicketdApp, client: TestClient, sessions: sessionmaker[Session], world: World
) -> None:
    with unit_of_work(sessions, write=True) as db:
        user = db.get(User, world.agent.user_id)
        assert user is not None
        pair = signing_keys.create(db, Sealer(app.services.token_secret), user=user)
        ticket = tickets.create_ticket(db, world.agent.principal, tickets.Changes(values={"subject": "x"}))
        db.commit()
    path = f"/v2/servicerequest/cases/{ticket.id}/message"

    def signed_post() -> int:
        body = message("hello")
        return client.post(
            path, content=body, headers=signed_headers(pair, path, body, "application/json")
        ).status_code

    assert signed_post() == 200
    # Agents cannot see or revoke it, nor can another tenant's admin.
    assert client.get("/api/v1/access-keys", auth=world.agent.basic).status_code == 403
    listed = client.get("/api/v1/access-keys", auth=world.admin.basic)
    assert listed.status_code == 200
    assert [key["access_key"] for key in listed.json()] == [pair.access_key]
    assert pair.secret_key not in listed.text
    assert client.get("/api/v1/access-keys", auth=world.outsider.basic).json() == []
    refused = client.post(f"/api/v1/access-keys/{pair.access_key}/revoke", auth=world.outsider.basic)
    assert refused.status_code == 404
    revoked = client.post(f"/api/v1/access-keys/{pair.access_key}/revoke", auth=world.admin.basic)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert signed_post() == 401
