"""Every field of a ticket, sent as null, the wrong type or an edge value, on create and on patch:
each answer is 2xx or 422, never a server error, and afterwards the ticket, the lists and every
face's view of them still read. Once as a sweep of each field with each value, once as a property
(Hypothesis) of several fields at once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.conftest import World
from tests.faces.huawei.test_huawei_api import _iam
from tests.faces.onecloud.test_onecloud_api import _bearer, _login
from ticketd.assembly.app import create_app
from ticketd.core.ticket_fields import SETTABLE
from ticketd.settings import Settings

API = "/api/v1"
EDGE_VALUES: list[Any] = [
    None,
    "",
    " ",
    "x" * 501,
    "\u0000\u202e\U0001f600",
    0,
    -1,
    101,
    1.5,
    True,
    [],
    [None],
    [1, 2],
    ["a"],
    ["a" * 300],
    {},
    {"k": None},
    {"nested": {"deep": [1, {"x": "y"}]}},
    "2026-01-01T00:00:00",
    "2026-01-01T00:00:00+07:00",
    "not a date",
    2**70,
]
FIELDS = [*SETTABLE, "requester_id", "assignee_ids", "tags", "status"]


class Faces:
    """The ticket and the lists it is in, read through every face."""

    def __init__(self, client: TestClient, world: World) -> None:
        self.client = client
        self.world = world
        self.iam = {"X-Auth-Token": _iam(client, world.agent)}
        self.onecloud = _bearer(_login(client, world, world.agent))

    def all_read(self, ticket_id: int) -> None:
        client, auth = self.client, self.world.agent.basic
        answers = {
            "native ticket": client.get(f"{API}/tickets/{ticket_id}", auth=auth),
            "native list": client.get(f"{API}/tickets?limit=100", auth=auth),
            "native events": client.get(f"{API}/tickets/{ticket_id}/events", auth=auth),
            "native status": client.get(f"{API}/tickets/{ticket_id}/status", auth=auth),
            "onecloud record": client.get(f"/api/ticketrz/{ticket_id}", headers=self.onecloud),
            "onecloud list": client.get("/api/ticketrz?limit=100", headers=self.onecloud),
            "huawei list": client.get("/v2/servicerequest/cases?limit=100", headers=self.iam),
            "huawei case": client.get(f"/v2/servicerequest/cases/{ticket_id}", headers=self.iam),
            "huawei logs": client.get(f"/v2/servicerequest/cases/{ticket_id}/operate-logs", headers=self.iam),
        }
        broken = {name: answer.status_code for name, answer in answers.items() if answer.status_code != 200}
        assert broken == {}, broken


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    # Thousands of requests from one credential: limits off, they are not what is tested here.
    app = create_app(settings.model_copy(update={"rate_limits": False}))
    with TestClient(app, raise_server_exceptions=False) as unlimited:
        yield unlimited


@pytest.fixture
def faces(client: TestClient, world: World) -> Faces:
    return Faces(client, world)


def _create(client: TestClient, world: World, fields: dict[str, Any]) -> int | None:
    response = client.post(f"{API}/tickets", json={"subject": "values", **fields}, auth=world.agent.basic)
    # 400: text the store cannot hold, refused at the edge (web/storable_text.py); 422: the field's rule.
    assert response.status_code in (201, 400, 422), (fields, response.status_code, response.text)
    if response.status_code in (400, 422):
        assert response.headers["content-type"] == "application/problem+json"
        return None
    ticket_id: int = response.json()["id"]
    return ticket_id


def _patch(client: TestClient, world: World, ticket_id: int, fields: dict[str, Any]) -> None:
    response = client.patch(f"{API}/tickets/{ticket_id}", json=fields, auth=world.agent.basic)
    assert response.status_code in (200, 400, 409, 422), (fields, response.status_code, response.text)


def test_every_field_with_every_edge_value(client: TestClient, world: World, faces: Faces) -> None:
    base = _create(client, world, {})
    assert base is not None
    for field in FIELDS:
        for value in EDGE_VALUES:
            created = _create(client, world, {field: value})
            _patch(client, world, base, {field: value})
            if created is not None and value in (None, [], {}, ""):
                faces.all_read(created)
        faces.all_read(base)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)


@hypothesis_settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fields=st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, min_size=1, max_size=4))
def test_any_fields_with_any_json_values(
    client: TestClient, world: World, faces: Faces, fields: dict[str, Any]
) -> None:
    created = _create(client, world, fields)
    if created is not None:
        _patch(client, world, created, fields)
        faces.all_read(created)


def test_searches_for_nul_are_refused_not_failed(client: TestClient, world: World, faces: Faces) -> None:
    # Refused where the request enters, each in its face's format (web/storable_text.py).
    searched = client.get(f"{API}/tickets", params={"q": "a\x00b"}, auth=world.agent.basic)
    assert searched.status_code == 400 and searched.headers["content-type"] == "application/problem+json"
    cases = client.get("/v2/servicerequest/cases", params={"search_key": "\x00"}, headers=faces.iam)
    assert cases.status_code == 400 and cases.json()["error_code"].startswith("OSM.")
    created = client.post(f"{API}/tickets", json={"subject": "to comment on"}, auth=world.agent.basic)
    assert created.status_code == 201
    comments = f"{API}/tickets/{created.json()['id']}/comments"
    comment = client.post(comments, json={"body": "\x00"}, auth=world.agent.basic)
    assert comment.status_code == 400
    assert client.get(comments, auth=world.agent.basic).json() == [], "nothing of it stored"
