"""OneCloud's quota per site: service hours and a daily allowance, refused with the vendor's body."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.conftest import World
from tests.faces.onecloud.test_onecloud_api import _bearer, _login
from ticketd.assembly.app import create_app
from ticketd.core import identity
from ticketd.limiting.tenant_limits import set_tenant_limits
from ticketd.settings import Settings
from ticketd.store.engine import unit_of_work


def _quota_body(hours: str) -> dict[str, object]:
    return {
        "_meta": {"status": "ERROR", "count": 1},
        "records": {
            "errorCode": "401",
            "userMessage": f"time limit reached please try again tomorrow at {hours}",
            "devMessage": "",
            "more": None,
            "applicationCode": "",
        },
    }


def _client(settings: Settings, **changes: object) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"limits_refresh_seconds": 0, **changes}))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_outside_the_service_hours_is_the_seeds_refusal(settings: Settings, world: World) -> None:
    now = datetime.now(ZoneInfo(settings.onecloud_time_zone))
    opens, closes = now + timedelta(hours=2), now + timedelta(hours=3)
    window = f"{opens:%H}:00-{closes:%H}:00"
    for client in _client(settings, onecloud_service_hours=window):
        token = _login(client, world, world.agent)
        refused = client.get("/api/ticketrz?limit=1", headers=_bearer(token))
        assert refused.status_code == 401
        assert refused.json() == _quota_body(f"{opens:%H}:00 - {closes:%H}:00")


def test_the_seeds_window_text(settings: Settings, world: World) -> None:
    now = datetime.now(ZoneInfo(settings.onecloud_time_zone))
    # A window over midnight that is closed now, written as the seed writes it.
    start, end = (now + timedelta(hours=6)).hour, (now + timedelta(hours=18)).hour
    window = f"{start:02d}:00-{end:02d}:00"
    for client in _client(settings, onecloud_service_hours=window):
        token = _login(client, world, world.agent)
        refused = client.get("/api/ticketrz?limit=1", headers=_bearer(token))
        assert refused.json() == _quota_body(f"{start:02d}:00 - {end:02d}:00")


def test_daily_allowance_per_site(settings: Settings, world: World, sessions: sessionmaker[Session]) -> None:
    with unit_of_work(sessions, write=True) as db:
        set_tenant_limits(db, identity.tenant_by_slug(db, "acme"), "onecloud", daily_allowance=3)
        db.commit()
    for client in _client(settings):
        agent, admin = _login(client, world, world.agent), _login(client, world, world.admin)
        statuses = [
            client.get("/api/ticketrz?limit=1", headers=_bearer(token)).status_code
            for token in (agent, admin, agent)
        ]
        assert statuses == [200, 200, 200]
        # The site's allowance is spent, whoever asks.
        refused = client.get("/api/ticketrz?limit=1", headers=_bearer(admin))
        assert refused.status_code == 401
        assert refused.json() == _quota_body("00:00 - 24:00")
        # Another site is not affected.
        outsider_login = client.post(
            "/api/authenticate",
            data={
                "email": "outsider@other.example",
                "password": world.outsider.password,
                "siteId": str(world.outsider.principal.tenant_id),
            },
        )
        other = outsider_login.json()["token"]
        assert client.get("/api/ticketrz?limit=1", headers=_bearer(other)).status_code == 200


def test_rate_limits_answer_429_in_the_envelope(settings: Settings, world: World) -> None:
    for client in _client(settings, limit_credential="2/minute"):
        token = _login(client, world, world.agent)
        statuses = [client.get("/api/ticketrz?limit=1", headers=_bearer(token)).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        refused = client.get("/api/ticketrz?limit=1", headers=_bearer(token))
        assert refused.json()["_meta"] == {"status": "ERROR", "count": 1}
        assert refused.json()["records"]["errorCode"] == 429
        assert int(refused.headers["retry-after"]) > 0
