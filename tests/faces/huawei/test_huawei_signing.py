"""AK/SK signatures cover the body: a captured signature signs its own body and no other."""

from __future__ import annotations

import hashlib

import orjson
import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.conftest import World
from ticketd.assembly.app import TicketdApp
from ticketd.core import signing_keys, tickets
from ticketd.core.signing_keys import AccessKeyPair, Sealer
from ticketd.store.engine import unit_of_work
from ticketd.store.tables import User

CASES = "/v2/servicerequest"


@pytest.fixture
def pair(app: TicketdApp, sessions: sessionmaker[Session], world: World) -> AccessKeyPair:
    with unit_of_work(sessions, write=True) as db:
        user = db.get(User, world.agent.user_id)
        assert user is not None
        created = signing_keys.create(db, Sealer(app.services.token_secret), user=user)
        db.commit()
    return created


@pytest.fixture
def case_id(sessions: sessionmaker[Session], world: World) -> int:
    with unit_of_work(sessions, write=True) as db:
        ticket = tickets.create_ticket(
            db, world.agent.principal, tickets.Changes(values={"subject": "signed"})
        )
        db.commit()
    return ticket.id


def signed_headers(pair: AccessKeyPair, path: str, body: bytes, content_type: str) -> dict[str, str]:
    """Headers as the official SDK signs them for this body."""
    request = SdkRequest(
        method="POST",
        schema="http",
        host="testserver",
        resource_path=path,
        query_params=[],
        header_params={"Content-Type": content_type},
        body=body,
    )
    Signer(BasicCredentials(pair.access_key, pair.secret_key)).sign(request)
    return dict(request.header_params)


def message(text: str) -> bytes:
    return orjson.dumps({"message": {"content": text}})


def test_the_signed_body_is_taken(client: TestClient, pair: AccessKeyPair, case_id: int) -> None:
    path = f"{CASES}/cases/{case_id}/message"
    body = message("as signed")
    response = client.post(path, content=body, headers=signed_headers(pair, path, body, "application/json"))
    assert response.status_code == 200, response.text


def test_another_body_under_a_captured_signature_is_refused(
    client: TestClient, pair: AccessKeyPair, case_id: int
) -> None:
    path = f"{CASES}/cases/{case_id}/message"
    headers = signed_headers(pair, path, message("as signed"), "application/json")
    response = client.post(path, content=message("swapped in"), headers=headers)
    assert response.status_code == 401
    assert response.json()["error_code"] == "APIGW.0301"


def test_a_stated_body_hash_must_be_the_bodys(client: TestClient, pair: AccessKeyPair, case_id: int) -> None:
    path = f"{CASES}/cases/{case_id}/message"
    signed = message("as signed")
    headers = signed_headers(pair, path, signed, "application/json")
    # The hash of the signed body, stated, with another body: the signature matches, the body does not.
    headers["X-Sdk-Content-Sha256"] = hashlib.sha256(signed).hexdigest()
    assert client.post(path, content=message("swapped in"), headers=headers).status_code == 401
    assert client.post(path, content=signed, headers=headers).status_code == 200


def test_an_unsigned_payload_is_refused_for_json(
    client: TestClient, pair: AccessKeyPair, case_id: int
) -> None:
    path = f"{CASES}/cases/{case_id}/message"
    headers = signed_headers(pair, path, b"placeholder", "application/octet-stream")
    assert headers["X-Sdk-Content-Sha256"] == "UNSIGNED-PAYLOAD"
    headers["Content-Type"] = "application/json"
    response = client.post(path, content=message("unsigned"), headers=headers)
    assert response.status_code == 401
